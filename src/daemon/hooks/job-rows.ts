import { FsError } from '../../core/errors.js';
import type { DropFileVersion, HookJob, JobState, StepResult } from './types.js';

/** Rows of `hook_jobs` (job-schema.ts) and their HookJob form, for job-store.ts. */

/** Longest failure message kept in a row (a command may print pages). */
export const MAX_MESSAGE_CHARS = 2000;

/** A row of hook_jobs as better-sqlite3 returns it. */
export interface JobRow {
  id: number;
  watch: string;
  path: string;
  size: number;
  mtime_ms: number;
  state: string;
  step: number;
  attempts: number;
  next_at_ms: number;
  input: string | null;
  results: string;
  last_code: string | null;
  last_message: string | null;
  last_at_ms: number | null;
  outcome: string | null;
  created_ms: number;
  updated_ms: number;
}

/** Throws FsError EINVAL unless `version` of `watch` can be recorded. */
export function checkVersion(watch: string, version: DropFileVersion): void {
  const valid =
    typeof watch === 'string' &&
    watch !== '' &&
    typeof version?.path === 'string' &&
    version.path !== '' &&
    Number.isSafeInteger(version.size) &&
    version.size >= 0 &&
    Number.isFinite(version.mtimeMs);
  if (!valid) {
    throw new FsError('EINVAL', `hook job submit: invalid version ${JSON.stringify(version)} of watch '${String(watch)}'`, {
      op: 'hook job submit',
      ...(typeof version?.path === 'string' ? { path: version.path } : {}),
    });
  }
}

/** `message` cut to MAX_MESSAGE_CHARS. */
export function clip(message: string): string {
  const text = String(message);
  return text.length > MAX_MESSAGE_CHARS ? `${text.slice(0, MAX_MESSAGE_CHARS)}...` : text;
}

function parseJson<T>(text: string | null, fallback: T): T {
  if (text === null) return fallback;
  try {
    return JSON.parse(text) as T;
  } catch {
    return fallback;
  }
}

/** The HookJob of a row (unreadable JSON columns read as empty). */
export function toJob(row: JobRow): HookJob {
  const job: HookJob = {
    id: row.id,
    watch: row.watch,
    path: row.path,
    size: row.size,
    mtimeMs: row.mtime_ms,
    state: row.state as JobState,
    step: row.step,
    attempts: row.attempts,
    nextAtMs: row.next_at_ms,
    results: parseJson<StepResult[]>(row.results, []),
    createdMs: row.created_ms,
    updatedMs: row.updated_ms,
  };
  if (row.input !== null) job.input = row.input;
  if (row.last_code !== null) job.lastError = { code: row.last_code, message: row.last_message ?? '', atMs: row.last_at_ms ?? 0 };
  const outcome = parseJson<Record<string, unknown> | undefined>(row.outcome, undefined);
  if (outcome !== undefined) job.outcome = outcome;
  return job;
}
