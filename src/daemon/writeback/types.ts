/**
 * Contracts of the write-back machinery of one mounted disk.
 *
 * Two parts, neither knows of files or FUSE:
 * - the Journal: a SQLite table of backend operations not yet done. A row is
 *   written (in the caller's transaction when there is one) before the VFS
 *   call that caused it returns, and deleted once the backend agrees. After
 *   a crash, the next start replays what is left, in sequence order.
 * - the UploadScheduler: delayed, coalesced, cancellable background jobs
 *   (the model is rclone's vfscache/writeback: `add(id, put)`, ordered by due
 *   time, a doubling retry delay capped at minutes, a running job aborted and
 *   requeued when its file changes again), run with bounded concurrency.
 */

/** What a journal row asks of the backend. Keys are backend keys ('' is the root). */
export type JournalOp =
  /** Upload the inode's current content and attributes to every name it has then (one row per inode). */
  | { kind: 'upload'; ino: number }
  /** Create the directory marker of `key`. */
  | { kind: 'mkdir'; ino: number; key: string }
  /** Write the symlink object of the inode at `key` (content = target). */
  | { kind: 'symlink'; ino: number; key: string }
  /** Delete the object `key` (one name of a file or symlink). */
  | { kind: 'unlink'; ino: number; key: string }
  /** Delete the directory `key` and everything below it on the backend. */
  | { kind: 'rmdir'; ino: number; key: string }
  /** Move the object of a file or symlink; `replaced`: an existing target was replaced. */
  | { kind: 'rename-file'; ino: number; from: string; to: string; replaced: boolean }
  /** Move a directory and everything below it. */
  | { kind: 'rename-dir'; ino: number; from: string; to: string }
  /** A new hard link: copy `from` to `to`. */
  | { kind: 'link'; ino: number; from: string; to: string };

/** A journal row: the operation, its sequence number (order of recording) and its failure record. */
export interface JournalEntry {
  seq: number;
  op: JournalOp;
  /** When it was recorded, ms since the epoch. */
  createdMs: number;
  /** Failed attempts so far (0 when it never failed). */
  attempts: number;
  /** Message and code of the last failure, if any. */
  lastError?: { code: string; message: string; atMs: number };
}

/**
 * The durable list of pending backend operations of one disk, in its
 * meta.db. Every method is synchronous and short (better-sqlite3) and may run
 * inside a caller's index transaction.
 */
export interface Journal {
  /** Records `op`; returns its sequence number. An 'upload' of an inode that already has one returns the existing row's seq (one per inode). */
  add(op: JournalOp): number;
  /** Deletes the row (done). Unknown seq: nothing happens. */
  remove(seq: number): void;
  /** Deletes the 'upload' row of `ino`, if any (the inode is gone). */
  removeUpload(ino: number): void;
  /** The 'upload' row of `ino`, if any. */
  uploadOf(ino: number): JournalEntry | undefined;
  /** Counts a failed attempt of `seq` with its error. */
  recordFailure(seq: number, error: { code: string; message: string }): void;
  /** Every row, in seq order. */
  list(): JournalEntry[];
  /** Number of rows. */
  count(): number;
}

/** A background job: does the backend work; rejects to be retried. Must stop soon after `signal` aborts. */
export type UploadJob = (signal: AbortSignal) => Promise<void>;

/** Settings of an UploadScheduler. */
export interface SchedulerOptions {
  /** Jobs running at once (>= 1). */
  concurrency: number;
  /** Delay before the first retry of a failed job, ms; doubles per failure. */
  retryDelayMs: number;
  /** Cap of the retry delay, ms. */
  maxRetryDelayMs: number;
  /** Clock, ms (tests pass a fake one; default Date.now). Timers still use setTimeout. */
  now?: () => number;
  /** Called after each failed run (not for runs aborted by cancel/stop): attempt count and when it runs again. */
  onFailure?: (id: string, err: unknown, attempts: number, retryAtMs: number) => void;
  /** Called after a successful run of `id`. */
  onSuccess?: (id: string) => void;
}

/** A snapshot of the scheduler for `storaged status`. */
export interface SchedulerStats {
  /** Jobs waiting (for their due time, a retry, or a free slot). */
  queued: number;
  /** Jobs running now. */
  running: number;
  /** Ids of running jobs. */
  runningIds: string[];
  /** Jobs whose last run failed, with their attempts and last error message. */
  failing: Array<{ id: string; attempts: number; lastError: string; retryAtMs: number }>;
  /** Runs that succeeded / failed / were aborted since start. */
  succeeded: number;
  failed: number;
  cancelled: number;
}

/**
 * Runs jobs by id after their due time, at most `concurrency` at once (in
 * due-time order; equal due times in scheduling order). One job per id:
 * - schedule() of a queued id replaces its job and sets the new due time;
 * - schedule() of a running id aborts the running run (its signal) and
 *   queues the new job at the new due time, to start only after the aborted
 *   run settled (never two runs of one id at once);
 * - a failed run is retried with the same job after retryDelayMs, doubling
 *   per consecutive failure up to maxRetryDelayMs; success resets the count.
 */
export interface UploadScheduler {
  /** Queues (or replaces) job `id` to run at or after `dueMs`. */
  schedule(id: string, dueMs: number, job: UploadJob): void;
  /** Forgets queued job `id`; aborts and awaits it when running. Resolves when no run of `id` is active. */
  remove(id: string): Promise<void>;
  /** True when `id` is queued or running. */
  has(id: string): boolean;
  /** True when a run of `id` is active now. */
  isRunning(id: string): boolean;
  /** Makes every queued job due now (failing ones too: their next attempt starts at once). */
  expedite(): void;
  /**
   * Resolves when nothing is queued or running (call expedite() first to
   * not wait for due times). Failing jobs keep being retried meanwhile.
   * `onProgress` is called about every `intervalMs` (default 1000) while waiting.
   */
  drain(onProgress?: (stats: SchedulerStats) => void, intervalMs?: number): Promise<void>;
  /** Stops starting jobs, aborts the running ones and waits for them to settle. Queued jobs are dropped (the journal keeps them). */
  stop(): Promise<void>;
  stats(): SchedulerStats;
}
