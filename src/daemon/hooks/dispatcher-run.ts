import { mkdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fromSystemError } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import { retryDelay } from '../writeback/backoff.js';
import { setAsideWithReason, type Destinations } from './dispatcher-outcomes.js';
import { RETRY_FOREVER_STEPS, shouldRetry, toJobError } from './job-errors.js';
import type { JobStore } from './job-store.js';
import { STAGED_SOURCE } from './steps/stage.js';
import type { DropFolder, HookJob, JobState, Step, StepOutcome, StepResult } from './types.js';

/** What running one job needs (the dispatcher's options, resolved). */
export interface RunDeps {
  store: JobStore;
  folders: (watch: string) => DropFolder;
  steps: (watch: string) => readonly Step[];
  destinations: (watch: string) => Destinations;
  stagingDir: string;
  retryDelayMs: number;
  maxRetryDelayMs: number;
  logger: Logger;
  now: () => number;
  /** Told every new state of a job (never throws). */
  changed: (job: HookJob) => void;
  /** Told when a refused file was set aside (the engine forgets its metadata); a throw is logged. */
  setAside?: (job: HookJob) => void;
}

/**
 * How a run ended: 'final' (the job ended), 'retry' (a failure was
 * recorded; the job is queued again at its retry time), 'aborted' (its
 * signal fired: superseded or the engine stopped; nothing was recorded),
 * 'lost' (the job stopped being this run's: it was superseded meanwhile).
 */
export type RunEnd = 'final' | 'retry' | 'aborted' | 'lost';

/**
 * A job resumed past its staging whose staged copy is gone or not of the
 * job's size (a copy not fsynced, lost with a power cut) starts again from
 * its first step; anything else goes on where it was.
 */
async function checkStaged(deps: RunDeps, job: HookJob, workDir: string, logger: Logger): Promise<HookJob> {
  if (job.step === 0 || job.input !== join(workDir, STAGED_SOURCE)) return job;
  const size = await stat(job.input).then(
    (info) => info.size,
    () => undefined,
  );
  if (size === job.size) return job;
  logger.warn({ staged: job.input, size, expected: job.size }, 'the staged copy was lost: the job starts again');
  return deps.store.rewind(job.id) ?? job;
}

/** The staging folder of job `id`. */
export function workDirOf(stagingDir: string, id: number): string {
  return join(stagingDir, String(id));
}

/**
 * Runs the running job `job` from its recorded step to its end or its next
 * retry (see dispatcher.ts for the rules). Never rejects except when the
 * job store itself fails while recording a failure.
 */
export async function runJob(deps: RunDeps, job: HookJob, signal: AbortSignal): Promise<RunEnd> {
  const logger = deps.logger.child({ watch: job.watch, path: job.path, job: job.id });
  let current = job;
  let steps: readonly Step[] = [];
  let folder: DropFolder | undefined;
  try {
    folder = deps.folders(job.watch);
    steps = deps.steps(job.watch);
    const workDir = workDirOf(deps.stagingDir, job.id);
    await mkdir(workDir, { recursive: true }).catch((err: unknown) => {
      throw fromSystemError(err, { path: workDir, op: 'create staging folder' });
    });
    current = await checkStaged(deps, current, workDir, logger);
    for (let index = current.step; index < steps.length; index++) {
      if (signal.aborted) return 'aborted';
      const step = steps[index]!;
      const started = performance.now();
      const outcome = await step.run({ job: current, folder, input: current.input ?? '', workDir, signal, logger });
      if (signal.aborted) return 'aborted';
      if (outcome.kind !== 'next') return await conclude(deps, current, folder, steps, outcome, signal);
      const result: StepResult = { step: step.name, ms: Math.round(performance.now() - started) };
      if (outcome.detail !== undefined) result.detail = outcome.detail;
      const next = deps.store.finishStep(job.id, index, result, outcome.output);
      if (next === undefined) return 'lost';
      current = next;
      deps.changed(current);
    }
    if (signal.aborted) return 'aborted';
    await folder.release(job.path);
    return end(deps, current.id, 'done');
  } catch (err) {
    if (signal.aborted) return 'aborted';
    return failed(deps, current, steps, folder, err, logger);
  }
}

/** Ends the job as a refusing or superseding step said. */
async function conclude(
  deps: RunDeps,
  job: HookJob,
  folder: DropFolder,
  steps: readonly Step[],
  outcome: Exclude<StepOutcome, { kind: 'next' }>,
  signal: AbortSignal,
): Promise<RunEnd> {
  if (outcome.kind === 'superseded') {
    const ended = end(deps, job.id, 'superseded', { reason: outcome.reason });
    // A changed file's new version is unscanned: only a folder without a scan may let it go.
    if (ended === 'final' && !hasScanFrom(steps, 0) && !deps.store.hasNewerUnfinished(job.watch, job.path, job.id)) {
      await releaseQuietly(deps, folder, job);
    }
    return ended;
  }
  const { into, reason, state, summary } = refusal(job, outcome, deps.destinations(job.watch), new Date(deps.now()).toISOString());
  if (signal.aborted) return 'aborted';
  const where = await setAsideWithReason(folder, job, into, reason);
  if (where === undefined) {
    return end(deps, job.id, 'superseded', { reason: `'${job.path}' changed or vanished before it could be ${state === 'rejected' ? 'rejected' : 'quarantined'}` });
  }
  const ended = end(deps, job.id, state, { ...summary, setAside: where });
  try {
    deps.setAside?.(job);
  } catch (err) {
    deps.logger.warn({ err, watch: job.watch, path: job.path }, 'could not forget the metadata of a file set aside');
  }
  if (ended === 'final') await releaseQuietly(deps, folder, job);
  return ended;
}

/** Where a refused file goes, what its reason file says, and the job's final state and outcome. */
function refusal(
  job: HookJob,
  outcome: Extract<StepOutcome, { kind: 'reject' | 'quarantine' }>,
  destinations: Destinations,
  at: string,
): { into: string; reason: Record<string, unknown>; state: JobState; summary: Record<string, unknown> } {
  const { watch, path } = job;
  if (outcome.kind === 'quarantine') {
    const { signature } = outcome;
    return { into: destinations.quarantineDir, reason: { watch, path, signature, at }, state: 'quarantined', summary: { signature } };
  }
  const { rule, reason, detail } = outcome;
  return {
    into: destinations.rejectedDir,
    reason: { watch, path, rule, reason, detail: detail ?? {}, at },
    state: 'rejected',
    summary: detail === undefined ? { rule, reason } : { rule, reason, detail },
  };
}

/** Records the failure of the job's current step: a retry, or the end of the job. */
function failed(deps: RunDeps, job: HookJob, steps: readonly Step[], folder: DropFolder | undefined, err: unknown, logger: Logger): Promise<RunEnd> {
  const stepName = steps[job.step]?.name ?? 'release';
  const attempts = job.attempts + 1;
  const error = toJobError(err);
  if (shouldRetry(err, stepName, attempts)) {
    const delay = retryDelay(attempts, deps.retryDelayMs, deps.maxRetryDelayMs);
    const next = deps.store.fail(job.id, error, deps.now() + delay);
    if (next === undefined) return Promise.resolve('lost');
    logger.warn({ step: stepName, attempts, code: error.code, retryInMs: delay }, `hook step '${stepName}' failed, retrying: ${error.message}`);
    deps.changed(next);
    return Promise.resolve('retry');
  }
  logger.error({ step: stepName, attempts, code: error.code }, `hook job failed at step '${stepName}': ${error.message}`);
  const ended = end(deps, job.id, 'failed', { step: stepName, ...error }, error);
  // The file stays where it is; it may go to the backend unless a scan it still needed never passed.
  if (ended !== 'final' || folder === undefined || hasScanFrom(steps, job.step)) return Promise.resolve(ended);
  return releaseQuietly(deps, folder, job).then(() => ended);
}

/** Ends job `id` in `state`; 'lost' when it had already ended (superseded meanwhile). */
function end(deps: RunDeps, id: number, state: JobState, outcome?: Record<string, unknown>, error?: { code: string; message: string }): RunEnd {
  const ended = deps.store.finish(id, state, outcome, error);
  if (ended === undefined) return 'lost';
  deps.changed(ended);
  return 'final';
}

/** Releases the file of an ended job; a failure is only logged (the job's record is final). */
async function releaseQuietly(deps: RunDeps, folder: DropFolder, job: HookJob): Promise<void> {
  try {
    await folder.release(job.path);
  } catch (err) {
    deps.logger.warn({ watch: job.watch, path: job.path, job: job.id, err }, 'releasing the file of an ended hook job failed');
  }
}

/** True when a step that must pass before the file may be uploaded (the scan) is at `from` or later. */
function hasScanFrom(steps: readonly Step[], from: number): boolean {
  return steps.slice(from).some((step) => RETRY_FOREVER_STEPS.includes(step.name));
}
