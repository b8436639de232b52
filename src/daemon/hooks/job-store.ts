import { FsError } from '../../core/errors.js';
import { fromSqliteError, type Database } from '../db.js';
import { migrateHooksSchema } from './job-schema.js';
import { checkVersion, clip, toJob, type JobRow } from './job-rows.js';
import type { DropFileVersion, HookJob, JobState, StepResult } from './types.js';

/** The states a job ends in. */
export const FINAL_STATES: readonly JobState[] = ['done', 'rejected', 'quarantined', 'failed', 'superseded'];

/** Every state, in the order status lists them. */
export const JOB_STATES: readonly JobState[] = ['queued', 'running', ...FINAL_STATES];

/** What submitting a version did. */
export interface SubmitResult {
  /** The job of that version: new, or the existing one when the version was already known. */
  job: HookJob;
  /** True when `job` was created by this call. */
  created: boolean;
  /** Ids of the unfinished jobs of older versions of the path that this call ended 'superseded'. */
  superseded: number[];
}

/** A failure as a job records it. */
export interface JobError {
  code: string;
  message: string;
}

/** The durable record of hook jobs (see openJobStore). */
export interface JobStore {
  /**
   * Records a job for `version` of a file of `watch`, idempotently: when the
   * newest job of the path is of the same version (size and mtime) and not
   * superseded, that job is returned whatever its state; otherwise a new
   * queued job (due now) is inserted and every unfinished job of the path
   * ends 'superseded'. One transaction.
   */
  submit(watch: string, version: DropFileVersion): HookJob;
  /** submit(), saying also whether the job is new and which jobs it superseded. */
  record(watch: string, version: DropFileVersion): SubmitResult;
  /** Queued jobs due at `nowMs` (next_at_ms <= nowMs), earliest first, at most `limit`. */
  due(nowMs: number, limit: number): HookJob[];
  /** The earliest due time of a queued job, or undefined when none is queued. */
  nextDueMs(): number | undefined;
  get(id: number): HookJob | undefined;
  /** Every job of (watch, path), oldest first. */
  jobsOf(watch: string, path: string): HookJob[];
  /** Marks a queued job running; undefined (nothing changed) when it is not queued. */
  start(id: number): HookJob | undefined;
  /**
   * Records that step `stepIndex` of a running job finished: appends
   * `result`, advances `step` to stepIndex + 1, resets attempts and, when
   * `input` is given, makes it the input of the next steps. One statement
   * (atomic). Undefined (nothing changed) when the job is not running at
   * that step (it was superseded meanwhile).
   */
  finishStep(id: number, stepIndex: number, result: StepResult, input?: string): HookJob | undefined;
  /**
   * Records a failed attempt of a running job's current step: attempts + 1,
   * the error as lastError, back to 'queued', due at `nextAtMs`. Undefined
   * (nothing changed) when the job is not running.
   */
  fail(id: number, error: JobError, nextAtMs: number): HookJob | undefined;
  /**
   * Ends an unfinished job in final `state` with `outcome` (and `error` as
   * its lastError when given). Undefined (nothing changed) when the job was
   * already final. A non-final state throws FsError EINVAL.
   */
  finish(id: number, state: JobState, outcome?: Record<string, unknown>, error?: JobError): HookJob | undefined;
  /** Puts a running job back to 'queued' (due now) without counting an attempt (the engine stopped). */
  requeue(id: number): HookJob | undefined;
  /**
   * Sends a running job back to its first step (results, input and attempts
   * cleared): what it staged was lost. Undefined (nothing changed) when the
   * job is not running.
   */
  rewind(id: number): HookJob | undefined;
  /** Puts every running job back to 'queued' (a start after a crash); returns how many. */
  requeueRunning(): number;
  /** Every job that is not final (queued or running), oldest first. */
  unfinished(): HookJob[];
  /** How many jobs are not final. */
  unfinishedCount(): number;
  /** True when (watch, path) has an unfinished job newer than `id`. */
  hasNewerUnfinished(watch: string, path: string, id: number): boolean;
  /** Job counts per watch and state (states without jobs are 0). */
  counts(): Map<string, Record<JobState, number>>;
  /** Unfinished jobs whose current step failed at least once (attempts > 0), oldest first. */
  failing(): HookJob[];
}

/** Optional settings of openJobStore. */
export interface JobStoreOptions {
  /** Clock for created/updated/failure times and due times of new jobs, ms (default Date.now). */
  now?: () => number;
}


const UNFINISHED = "state IN ('queued', 'running')";

/**
 * Opens the hook job store over `db` (creating or upgrading its tables,
 * module 'hooks'). Every method is synchronous, runs a few prepared
 * statements, and joins the caller's transaction when there is one. SQLite
 * failures surface as FsError (fromSqliteError: EIO, ENOSPC, EBUSY...).
 */
export function openJobStore(db: Database, options: JobStoreOptions = {}): JobStore {
  migrateHooksSchema(db);
  const now = () => Math.round((options.now ?? Date.now)());
  const sql = {
    byId: db.prepare<JobRow>('SELECT * FROM hook_jobs WHERE id = ?'),
    newestOfPath: db.prepare<JobRow>('SELECT * FROM hook_jobs WHERE watch = ? AND path = ? ORDER BY id DESC LIMIT 1'),
    ofPath: db.prepare<JobRow>('SELECT * FROM hook_jobs WHERE watch = ? AND path = ? ORDER BY id'),
    unfinishedOfPath: db.prepare<number>(`SELECT id FROM hook_jobs WHERE watch = ? AND path = ? AND ${UNFINISHED}`).pluck(),
    supersede: db.prepare(`UPDATE hook_jobs SET state = 'superseded', outcome = ?, updated_ms = ? WHERE id = ? AND ${UNFINISHED}`),
    insert: db.prepare(
      `INSERT INTO hook_jobs (watch, path, size, mtime_ms, state, next_at_ms, created_ms, updated_ms)
       VALUES (?, ?, ?, ?, 'queued', ?, ?, ?)`,
    ),
    due: db.prepare<JobRow>("SELECT * FROM hook_jobs WHERE state = 'queued' AND next_at_ms <= ? ORDER BY next_at_ms, id LIMIT ?"),
    nextDue: db.prepare<number | null>("SELECT min(next_at_ms) FROM hook_jobs WHERE state = 'queued'").pluck(),
    start: db.prepare("UPDATE hook_jobs SET state = 'running', updated_ms = ? WHERE id = ? AND state = 'queued'"),
    finishStep: db.prepare(
      `UPDATE hook_jobs SET step = step + 1, attempts = 0, input = coalesce(?, input),
         results = json_insert(results, '$[#]', json(?)), updated_ms = ?
       WHERE id = ? AND state = 'running' AND step = ?`,
    ),
    fail: db.prepare(
      `UPDATE hook_jobs SET state = 'queued', attempts = attempts + 1, last_code = ?, last_message = ?, last_at_ms = ?,
         next_at_ms = ?, updated_ms = ?
       WHERE id = ? AND state = 'running'`,
    ),
    finish: db.prepare(`UPDATE hook_jobs SET state = ?, outcome = ?, updated_ms = ? WHERE id = ? AND ${UNFINISHED}`),
    finishWithError: db.prepare(
      `UPDATE hook_jobs SET state = ?, outcome = ?, last_code = ?, last_message = ?, last_at_ms = ?, updated_ms = ?
       WHERE id = ? AND ${UNFINISHED}`,
    ),
    requeue: db.prepare("UPDATE hook_jobs SET state = 'queued', next_at_ms = ?, updated_ms = ? WHERE id = ? AND state = 'running'"),
    rewind: db.prepare("UPDATE hook_jobs SET step = 0, results = '[]', input = NULL, attempts = 0, updated_ms = ? WHERE id = ? AND state = 'running'"),
    requeueRunning: db.prepare("UPDATE hook_jobs SET state = 'queued', next_at_ms = ?, updated_ms = ? WHERE state = 'running'"),
    unfinished: db.prepare<JobRow>(`SELECT * FROM hook_jobs WHERE ${UNFINISHED} ORDER BY id`),
    unfinishedCount: db.prepare<number>(`SELECT count(*) FROM hook_jobs WHERE ${UNFINISHED}`).pluck(),
    newerUnfinished: db
      .prepare<number>(`SELECT 1 FROM hook_jobs WHERE watch = ? AND path = ? AND id > ? AND ${UNFINISHED} LIMIT 1`)
      .pluck(),
    counts: db.prepare<{ watch: string; state: string; n: number }>('SELECT watch, state, count(*) AS n FROM hook_jobs GROUP BY watch, state'),
    failing: db.prepare<JobRow>(`SELECT * FROM hook_jobs WHERE ${UNFINISHED} AND attempts > 0 ORDER BY id`),
  };

  const guarded = <T>(op: string, fn: () => T): T => {
    try {
      return fn();
    } catch (err) {
      throw fromSqliteError(err, db.name, op);
    }
  };
  const read = (id: number): HookJob | undefined => {
    const row = sql.byId.get(id);
    return row === undefined ? undefined : toJob(row);
  };
  /** Runs an UPDATE of job `id` and returns the job when it changed a row. */
  const changed = (id: number, run: () => { changes: number }): HookJob | undefined => (run().changes > 0 ? read(id) : undefined);

  const record = db.transaction((watch: string, version: DropFileVersion): SubmitResult => {
    const newest = sql.newestOfPath.get(watch, version.path);
    if (newest !== undefined && newest.state !== 'superseded' && newest.size === version.size && newest.mtime_ms === version.mtimeMs) {
      return { job: toJob(newest), created: false, superseded: [] };
    }
    const at = now();
    const superseded = sql.unfinishedOfPath.all(watch, version.path);
    const why = JSON.stringify({ reason: `a newer version of '${version.path}' (${version.size} bytes) was submitted` });
    for (const id of superseded) sql.supersede.run(why, at, id);
    const inserted = sql.insert.run(watch, version.path, version.size, version.mtimeMs, at, at, at);
    return { job: read(Number(inserted.lastInsertRowid))!, created: true, superseded };
  });

  const submitVersion = (watch: string, version: DropFileVersion): SubmitResult => {
    checkVersion(watch, version);
    return guarded('hook job submit', () => record.immediate(watch, version));
  };

  return {
    submit: (watch, version) => submitVersion(watch, version).job,
    record: submitVersion,
    due(nowMs, limit) {
      return guarded('hook jobs due', () => sql.due.all(Math.floor(nowMs), Math.max(0, Math.floor(limit))).map(toJob));
    },
    nextDueMs() {
      return guarded('hook jobs next due', () => sql.nextDue.get() ?? undefined);
    },
    get(id) {
      return guarded('hook job get', () => read(id));
    },
    jobsOf(watch, path) {
      return guarded('hook jobs of path', () => sql.ofPath.all(watch, path).map(toJob));
    },
    start(id) {
      return guarded('hook job start', () => changed(id, () => sql.start.run(now(), id)));
    },
    finishStep(id, stepIndex, result, input) {
      const json = JSON.stringify(result);
      return guarded('hook job finish step', () => changed(id, () => sql.finishStep.run(input ?? null, json, now(), id, stepIndex)));
    },
    fail(id, error, nextAtMs) {
      const at = now();
      return guarded('hook job fail', () =>
        changed(id, () => sql.fail.run(String(error.code), clip(error.message), at, Math.round(nextAtMs), at, id)),
      );
    },
    finish(id, state, outcome, error) {
      if (!FINAL_STATES.includes(state)) throw new FsError('EINVAL', `hook job ${id}: '${state}' is not a final state`, { op: 'hook job finish' });
      const json = outcome === undefined ? null : JSON.stringify(outcome);
      const at = now();
      return guarded('hook job finish', () =>
        changed(id, () =>
          error === undefined
            ? sql.finish.run(state, json, at, id)
            : sql.finishWithError.run(state, json, String(error.code), clip(error.message), at, at, id),
        ),
      );
    },
    requeue(id) {
      const at = now();
      return guarded('hook job requeue', () => changed(id, () => sql.requeue.run(at, at, id)));
    },
    rewind(id) {
      const at = now();
      return guarded('hook job rewind', () => changed(id, () => sql.rewind.run(at, id)));
    },
    requeueRunning() {
      const at = now();
      return guarded('hook jobs requeue', () => sql.requeueRunning.run(at, at).changes);
    },
    unfinished() {
      return guarded('hook jobs unfinished', () => sql.unfinished.all().map(toJob));
    },
    unfinishedCount() {
      return guarded('hook jobs unfinished', () => sql.unfinishedCount.get() ?? 0);
    },
    hasNewerUnfinished(watch, path, id) {
      return guarded('hook jobs newer', () => sql.newerUnfinished.get(watch, path, id) !== undefined);
    },
    counts() {
      const counts = new Map<string, Record<JobState, number>>();
      for (const row of guarded('hook job counts', () => sql.counts.all())) {
        let perState = counts.get(row.watch);
        if (perState === undefined) counts.set(row.watch, (perState = emptyCounts()));
        if (Object.hasOwn(perState, row.state)) perState[row.state as JobState] = row.n;
      }
      return counts;
    },
    failing() {
      return guarded('hook jobs failing', () => sql.failing.all().map(toJob));
    },
  };
}

/** A count of 0 for every state. */
export function emptyCounts(): Record<JobState, number> {
  return Object.fromEntries(JOB_STATES.map((state) => [state, 0])) as Record<JobState, number>;
}
