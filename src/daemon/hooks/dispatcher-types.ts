import type { Logger } from '../../core/logger.js';
import type { Destinations } from './dispatcher-outcomes.js';
import type { JobStore } from './job-store.js';
import type { DropFileVersion, DropFolder, HookJob, JobState, Step } from './types.js';

/** The options and the face of the hook dispatcher (dispatcher.ts). */

/** What a dispatcher is built from. */
export interface DispatcherOptions {
  store: JobStore;
  /** The folder of a watch (may throw for a watch no longer configured: the job fails). */
  folders: (watch: string) => DropFolder;
  /** The pipeline of a watch, in order; step 0 stages the file into the job's workDir. */
  steps: (watch: string) => readonly Step[];
  /** Where a watch's rejected and infected files go. */
  destinations: (watch: string) => Destinations;
  /** A local folder; each job works in `<stagingDir>/<job id>`, removed once the job ended. */
  stagingDir: string;
  /** Jobs running at once (>= 1). */
  concurrency: number;
  /** First retry delay after a transient failure, ms; doubles per attempt. */
  retryDelayMs: number;
  /** Cap of the retry delay, ms. */
  maxRetryDelayMs: number;
  logger: Logger;
  /** Clock, ms since the epoch (default Date.now). */
  now?: () => number;
  /** Told each new state of a job (submitted, running, step finished, failed, ended); a throw is ignored. */
  onChange?: (job: HookJob) => void;
  /** Told when a rejected or infected file was moved out of its folder; a throw is logged. */
  onSetAside?: (job: HookJob) => void;
}

/** A job whose current step failed and waits for its retry. */
export interface FailingJob {
  id: number;
  path: string;
  /** Index of the failing step. */
  step: number;
  attempts: number;
  lastError?: HookJob['lastError'];
  /** When it runs again, ms since the epoch. */
  nextAtMs: number;
}

/** What `storaged status` shows of one watched folder. */
export interface WatchStatus {
  watch: string;
  /** Jobs per state, from the durable record (every job ever recorded for the watch). */
  counts: Record<JobState, number>;
  /** Jobs of the watch running in this process now. */
  running: number;
  failing: FailingJob[];
}

/** The engine running durable hook jobs (see createDispatcher). */
export interface Dispatcher {
  /**
   * Resumes every unfinished job (a job left 'running' by a crash runs
   * again from its recorded step), removes the staging folders of ended
   * jobs, and from then on runs due jobs as they come due.
   */
  start(): Promise<void>;
  /**
   * Records a job for `version` of a file of `watch` (JobStore.submit:
   * idempotent; older unfinished versions end 'superseded' and a running one
   * is aborted) before anything runs, then wakes the loop.
   */
  submit(watch: string, version: DropFileVersion): HookJob;
  /** Aborts the running steps (their signal), waits for them, and runs nothing more; their jobs stay queued. */
  stop(): Promise<void>;
  /** Resolves when no job is unfinished or running (or once stop() finished). */
  idle(): Promise<void>;
  /** Per watch with jobs: counts by state, jobs running now, failing jobs. */
  status(): WatchStatus[];
  /** Every job of (watch, path), oldest first (JobStore.jobsOf). */
  jobsOf(watch: string, path: string): HookJob[];
}
