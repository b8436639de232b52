import { readdir, rm } from 'node:fs/promises';
import PQueue from 'p-queue';
import { FsError } from '../../core/errors.js';
import { runJob, workDirOf, type RunDeps, type RunEnd } from './dispatcher-run.js';
import type { Dispatcher, DispatcherOptions, WatchStatus } from './dispatcher-types.js';
import { FINAL_STATES, type JobStore } from './job-store.js';
import { watchStatuses } from './watch-status.js';
import type { DropFileVersion, HookJob } from './types.js';

export type { Destinations } from './dispatcher-outcomes.js';
export type { Dispatcher, DispatcherOptions, FailingJob, WatchStatus } from './dispatcher-types.js';
export { MAX_STEP_ATTEMPTS, RETRY_FOREVER_STEPS, TRANSIENT_CODES } from './job-errors.js';

/** Longest delay setTimeout honours; a later due time re-arms on firing. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** Delay before the loop tries again after the job store itself failed, ms. */
const STORE_RETRY_MS = 1000;

interface InFlight {
  readonly watch: string;
  readonly controller: AbortController;
}

/**
 * Creates a Dispatcher. How a job runs: for each step from its recorded
 * one, `step.run(ctx)` with ctx.input = the job's input ('' before the
 * stage step) and workDir = `<stagingDir>/<job id>` (created). 'next'
 * records the step (its output becomes the next steps' input); 'reject' and
 * 'quarantine' move the file to the watch's rejected/quarantine folder with
 * `<file>.reason.json`, end the job and release the file; 'superseded' ends
 * the job; after the last step the file is released and the job ends 'done'.
 * A thrown FsError with a TRANSIENT_CODES code is retried with doubling
 * backoff (forever for a 'scan' step, else up to MAX_STEP_ATTEMPTS runs);
 * anything else ends the job 'failed' (step, code, message). The file of a
 * failed or superseded job is released only when no scan step was still to
 * pass (an unscanned file is never let go to the backend). Invalid options
 * throw FsError EINVAL.
 */
export function createDispatcher(options: DispatcherOptions): Dispatcher {
  const { concurrency, retryDelayMs, maxRetryDelayMs } = options;
  if (!Number.isSafeInteger(concurrency) || concurrency < 1) invalid(`concurrency ${concurrency}`);
  if (!Number.isFinite(retryDelayMs) || retryDelayMs < 0) invalid(`retryDelayMs ${retryDelayMs}`);
  if (!Number.isFinite(maxRetryDelayMs) || maxRetryDelayMs < 0) invalid(`maxRetryDelayMs ${maxRetryDelayMs}`);
  if (typeof options.stagingDir !== 'string' || options.stagingDir === '') invalid(`stagingDir '${String(options.stagingDir)}'`);
  return new HookDispatcher(options);
}

class HookDispatcher implements Dispatcher {
  private readonly store: JobStore;
  private readonly now: () => number;
  private readonly queue: PQueue;
  private readonly deps: RunDeps;
  private readonly inFlight = new Map<number, InFlight>();
  /** Settling runs and staging cleanups that idle() and stop() wait for. */
  private readonly background = new Set<Promise<void>>();
  private idleWaiters: Array<() => void> = [];
  private started = false;
  private stopping: Promise<void> | undefined;
  private pumpQueued = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly options: DispatcherOptions) {
    this.store = options.store;
    this.now = options.now ?? Date.now;
    this.queue = new PQueue({ concurrency: options.concurrency });
    this.deps = {
      store: options.store,
      folders: options.folders,
      steps: options.steps,
      destinations: options.destinations,
      stagingDir: options.stagingDir,
      retryDelayMs: options.retryDelayMs,
      maxRetryDelayMs: options.maxRetryDelayMs,
      logger: options.logger,
      now: this.now,
      changed: (job) => this.changed(job),
      ...(options.onSetAside ? { setAside: options.onSetAside } : {}),
    };
  }

  async start(): Promise<void> {
    if (this.started || this.stopping !== undefined) return;
    const resumed = this.store.requeueRunning();
    if (resumed > 0) this.options.logger.info({ jobs: resumed }, 'resuming hook jobs interrupted by a stop or crash');
    // Before any run: a staging folder swept now cannot be one a new job is filling.
    await this.sweepStaging();
    if (this.stopping !== undefined) return;
    this.started = true;
    this.requestPump();
  }

  submit(watch: string, version: DropFileVersion): HookJob {
    const { job, created, superseded } = this.store.record(watch, version);
    for (const id of superseded) {
      const run = this.inFlight.get(id);
      if (run !== undefined) run.controller.abort(new FsError('ECANCELED', `hook job ${id} was superseded by job ${job.id}`, { path: version.path }));
      else this.track(this.removeStaging(id));
      const ended = this.store.get(id);
      if (ended !== undefined) this.changed(ended);
    }
    if (created) {
      this.changed(job);
      this.requestPump();
    }
    return job;
  }

  stop(): Promise<void> {
    if (this.stopping !== undefined) return this.stopping;
    this.clearTimer();
    for (const run of this.inFlight.values()) run.controller.abort(new FsError('ECANCELED', 'the hook dispatcher stopped'));
    this.stopping = this.settleBackground().then(() => this.releaseIdle());
    return this.stopping;
  }

  idle(): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  status(): WatchStatus[] {
    const running = new Map<string, number>();
    for (const run of this.inFlight.values()) running.set(run.watch, (running.get(run.watch) ?? 0) + 1);
    return watchStatuses(this.store, running);
  }

  jobsOf(watch: string, path: string): HookJob[] {
    return this.store.jobsOf(watch, path);
  }

  private requestPump(): void {
    if (this.pumpQueued) return;
    this.pumpQueued = true;
    queueMicrotask(() => {
      this.pumpQueued = false;
      this.pump();
    });
  }

  /** Starts due jobs while slots are free, then arms the timer for the next due one. */
  private pump(): void {
    if (!this.started || this.stopping !== undefined) return;
    try {
      const free = this.options.concurrency - this.inFlight.size;
      // A job whose failure was just recorded may still be settling here: ask for as many more as run.
      const due = free > 0 ? this.store.due(this.now(), free + this.inFlight.size) : [];
      for (const job of due) {
        if (this.inFlight.size >= this.options.concurrency) break;
        if (!this.inFlight.has(job.id)) this.launch(job.id);
      }
      this.armTimer();
    } catch (err) {
      this.options.logger.error({ err }, 'the hook job store failed; trying again shortly');
      this.armTimer(STORE_RETRY_MS);
    }
  }

  private launch(id: number): void {
    const job = this.store.start(id);
    if (job === undefined) return;
    const run: InFlight = { watch: job.watch, controller: new AbortController() };
    this.inFlight.set(id, run);
    this.changed(job);
    const settled = this.queue
      .add(() => runJob(this.deps, job, run.controller.signal))
      .then((end) => this.afterRun(job, end))
      .catch((err: unknown) => this.afterCrash(job, err))
      .finally(() => {
        this.inFlight.delete(id);
        this.requestPump();
      });
    this.track(settled);
  }

  /** Removes the staging folder of an ended job; puts a job the stop aborted back in the queue. */
  private async afterRun(job: HookJob, end: RunEnd): Promise<void> {
    if (end === 'retry') return;
    const latest = this.store.get(job.id);
    if (latest === undefined || FINAL_STATES.includes(latest.state)) {
      await this.removeStaging(job.id);
    } else if (end === 'aborted' && latest.state === 'running') {
      const requeued = this.store.requeue(job.id);
      if (requeued !== undefined) this.changed(requeued);
    }
  }

  /** The job store failed while recording a run's end: the job is put back in the queue if it can be. */
  private afterCrash(job: HookJob, err: unknown): void {
    this.options.logger.error({ err, watch: job.watch, path: job.path, job: job.id }, 'recording the end of a hook job failed');
    try {
      this.store.requeue(job.id);
    } catch {
      // The store is failing: the job stays 'running' and resumes at the next start.
    }
  }

  /** Removes the staging folders of jobs that ended (or are unknown) while no run could do it (a crash). */
  private async sweepStaging(): Promise<void> {
    let names: string[];
    try {
      names = await readdir(this.options.stagingDir);
    } catch {
      return; // No staging folder yet: nothing to sweep.
    }
    for (const name of names) {
      if (!/^\d+$/.test(name)) continue;
      const job = this.store.get(Number(name));
      if (job === undefined || FINAL_STATES.includes(job.state)) await this.removeStaging(Number(name));
    }
  }

  private async removeStaging(id: number): Promise<void> {
    try {
      await rm(workDirOf(this.options.stagingDir, id), { recursive: true, force: true });
    } catch (err) {
      this.options.logger.warn({ err, job: id }, 'removing the staging folder of an ended hook job failed');
    }
  }

  /** One timer, for the earliest queued job, only while a slot is free (a settling run pumps otherwise). */
  private armTimer(delayMs?: number): void {
    this.clearTimer();
    if (this.inFlight.size >= this.options.concurrency && delayMs === undefined) return;
    let delay = delayMs;
    if (delay === undefined) {
      const next = this.store.nextDueMs();
      if (next === undefined) return;
      delay = Math.max(0, next - this.now());
    }
    // Kept ref'd on purpose: a job waiting for its retry keeps the process alive.
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.pump();
    }, Math.min(MAX_TIMER_MS, delay));
  }

  private clearTimer(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private track(work: Promise<void>): void {
    this.background.add(work);
    void work.finally(() => {
      this.background.delete(work);
      this.releaseIdle();
    });
  }

  private async settleBackground(): Promise<void> {
    while (this.background.size > 0) await Promise.all([...this.background]);
  }

  private isIdle(): boolean {
    if (this.stopping !== undefined) return this.inFlight.size === 0 && this.background.size === 0;
    return this.inFlight.size === 0 && this.background.size === 0 && this.store.unfinishedCount() === 0;
  }

  private releaseIdle(): void {
    if (this.idleWaiters.length === 0 || !this.isIdle()) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiters) resolve();
  }

  private changed(job: HookJob): void {
    try {
      this.options.onChange?.(job);
    } catch {
      // A listener failing must not break the dispatcher's bookkeeping.
    }
  }
}

function invalid(what: string): never {
  throw new FsError('EINVAL', `hook dispatcher: invalid ${what}`, { op: 'config' });
}
