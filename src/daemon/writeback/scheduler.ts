import PQueue from 'p-queue';
import { FsError } from '../../core/errors.js';
import { retryDelay } from './backoff.js';
import { DueHeap, type HeapNode } from './due-heap.js';
import type { SchedulerOptions, SchedulerStats, UploadJob, UploadScheduler } from './types.js';

/** Longest delay setTimeout honours (a longer one fires at once); a later due time re-arms on firing. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** Stale heap nodes tolerated beyond twice the live ids before the heap is rebuilt. */
const HEAP_SLACK = 1024;

/** One active run of a job. */
interface ActiveRun {
  readonly controller: AbortController;
  /** Resolves (never rejects) once the run settled and the scheduler took note. */
  settled: Promise<void>;
}

/** The state of one id: queued when `run` is unset; running otherwise (with maybe a `next` job behind it). */
interface Entry {
  readonly id: string;
  job: UploadJob;
  dueMs: number;
  /** Scheduling order (breaks dueMs ties); the heap node carrying the current order is the entry's live one. */
  order: number;
  /** Consecutive failed runs (0 after a success). */
  attempts: number;
  lastError?: string;
  run?: ActiveRun;
  /** The job queued behind an aborted active run: it starts at its due time once the run settled. */
  next?: { job: UploadJob; dueMs: number };
}


type Outcome = { ok: true } | { ok: false; err: unknown };

/**
 * Creates an UploadScheduler (see types.ts for the contract). Choices the
 * contract leaves open:
 * - A run whose signal was aborted (by schedule(), remove() or stop()) counts
 *   as cancelled whatever it returned: neither onSuccess nor onFailure is called.
 * - schedule() of a failing id keeps its failure count (a new job does not
 *   reset the backoff; only a success does) but runs at the new due time.
 * - After stop(), schedule() does nothing (the journal keeps the operation),
 *   drain() resolves at once, and drain() calls pending at stop() resolve
 *   once the aborted runs settled.
 * - Jobs start from a microtask, never inside the caller's schedule() call
 *   (which may be inside a database transaction).
 * - A throwing onSuccess/onFailure/onProgress callback is ignored.
 * Invalid options or arguments throw FsError EINVAL.
 */
export function createUploadScheduler(options: SchedulerOptions): UploadScheduler {
  const { concurrency, retryDelayMs, maxRetryDelayMs } = options;
  if (!Number.isSafeInteger(concurrency) || concurrency < 1) invalid(`concurrency ${concurrency}`);
  if (!Number.isFinite(retryDelayMs) || retryDelayMs < 0) invalid(`retryDelayMs ${retryDelayMs}`);
  if (!Number.isFinite(maxRetryDelayMs) || maxRetryDelayMs < 0) invalid(`maxRetryDelayMs ${maxRetryDelayMs}`);
  return new Scheduler(options);
}

class Scheduler implements UploadScheduler {
  private readonly now: () => number;
  private readonly queue: PQueue;
  private readonly entries = new Map<string, Entry>();
  private readonly active = new Set<Entry>();
  private readonly heap = new DueHeap<Entry>();
  private readonly counts = { succeeded: 0, failed: 0, cancelled: 0 };
  private drainWaiters: Array<() => void> = [];
  private nextOrder = 0;
  private timer: NodeJS.Timeout | undefined;
  private timerDueMs = 0;
  private pumpQueued = false;
  private stopping: Promise<void> | undefined;

  constructor(private readonly options: SchedulerOptions) {
    this.now = options.now ?? Date.now;
    this.queue = new PQueue({ concurrency: options.concurrency });
  }

  schedule(id: string, dueMs: number, job: UploadJob): void {
    if (typeof id !== 'string') invalid(`job id ${String(id)}`);
    if (typeof dueMs !== 'number' || !Number.isFinite(dueMs)) invalid(`due time ${String(dueMs)} of job '${id}'`);
    if (typeof job !== 'function') invalid(`job of '${id}' is not a function`);
    if (this.stopping !== undefined) return;
    const entry = this.entries.get(id);
    if (entry === undefined) {
      const created: Entry = { id, job, dueMs, order: 0, attempts: 0 };
      this.entries.set(id, created);
      this.enqueue(created, dueMs);
    } else if (entry.run !== undefined) {
      entry.next = { job, dueMs };
      abort(entry.run, `job '${id}' was scheduled again while running`);
    } else {
      entry.job = job;
      this.enqueue(entry, dueMs);
    }
    this.requestPump();
  }

  remove(id: string): Promise<void> {
    const entry = this.entries.get(id);
    if (entry === undefined) return Promise.resolve();
    if (entry.run !== undefined) {
      entry.next = undefined;
      abort(entry.run, `job '${id}' was removed`);
      return entry.run.settled;
    }
    this.forget(entry);
    // Clears the timer when it waited for this job only (a ref'd timer keeps the process alive).
    this.armTimer();
    this.releaseDrainsWhenIdle();
    return Promise.resolve();
  }

  has(id: string): boolean {
    return this.entries.has(id);
  }

  isRunning(id: string): boolean {
    return this.entries.get(id)?.run !== undefined;
  }

  expedite(): void {
    if (this.stopping !== undefined) return;
    const at = this.now();
    const queued: Entry[] = [];
    for (const entry of this.entries.values()) {
      if (entry.run === undefined) queued.push(entry);
      else if (entry.next !== undefined) entry.next.dueMs = at;
    }
    // Keep their relative order: by the old due time, then by scheduling order.
    queued.sort((a, b) => a.dueMs - b.dueMs || a.order - b.order);
    this.heap.reset(
      queued.map((entry) => {
        entry.dueMs = at;
        entry.order = this.nextOrder++;
        return { dueMs: at, order: entry.order, entry };
      }),
    );
    this.requestPump();
  }

  drain(onProgress?: (stats: SchedulerStats) => void, intervalMs = 1000): Promise<void> {
    if (!Number.isFinite(intervalMs) || intervalMs <= 0) {
      return Promise.reject(new FsError('EINVAL', `drain progress interval ${intervalMs} ms is not a positive number`));
    }
    if (this.entries.size === 0 || this.stopping !== undefined) return Promise.resolve();
    return new Promise((resolve) => {
      const progress =
        onProgress === undefined ? undefined : setInterval(() => ignoreThrow(() => onProgress(this.stats())), intervalMs);
      this.drainWaiters.push(() => {
        if (progress !== undefined) clearInterval(progress);
        resolve();
      });
    });
  }

  stop(): Promise<void> {
    if (this.stopping !== undefined) return this.stopping;
    this.clearTimer();
    const runs: Promise<void>[] = [];
    for (const entry of [...this.entries.values()]) {
      if (entry.run === undefined) {
        this.entries.delete(entry.id);
        continue;
      }
      entry.next = undefined;
      abort(entry.run, 'the upload scheduler stopped');
      runs.push(entry.run.settled);
    }
    this.heap.reset([]);
    this.stopping = Promise.all(runs).then(() => this.releaseDrains());
    return this.stopping;
  }

  stats(): SchedulerStats {
    let queued = 0;
    const failing: SchedulerStats['failing'] = [];
    for (const entry of this.entries.values()) {
      if (entry.run === undefined || entry.next !== undefined) queued++;
      if (entry.attempts > 0) {
        const retryAtMs = entry.next?.dueMs ?? entry.dueMs;
        failing.push({ id: entry.id, attempts: entry.attempts, lastError: entry.lastError ?? '', retryAtMs });
      }
    }
    return {
      queued,
      running: this.active.size,
      runningIds: [...this.active].map((entry) => entry.id),
      failing,
      ...this.counts,
    };
  }

  /** Puts `entry` (not running) in the heap at `dueMs`, after every entry already there with the same due time. */
  private enqueue(entry: Entry, dueMs: number): void {
    if (this.stopping !== undefined) {
      this.forget(entry);
      return;
    }
    entry.dueMs = dueMs;
    entry.order = this.nextOrder++;
    this.heap.push({ dueMs, order: entry.order, entry });
    if (this.heap.size > 2 * this.entries.size + HEAP_SLACK) {
      this.heap.reset(this.heap.nodes().filter((node) => this.isLive(node)));
    }
  }

  private isLive(node: HeapNode<Entry>): boolean {
    const { entry } = node;
    return entry.run === undefined && node.order === entry.order && this.entries.get(entry.id) === entry;
  }

  private forget(entry: Entry): void {
    if (this.entries.get(entry.id) === entry) this.entries.delete(entry.id);
  }

  private requestPump(): void {
    if (this.pumpQueued) return;
    this.pumpQueued = true;
    queueMicrotask(() => {
      this.pumpQueued = false;
      this.pump();
    });
  }

  /** Starts due jobs while slots are free, then arms the timer for the next one. */
  private pump(): void {
    if (this.stopping !== undefined) return;
    const at = this.now();
    while (this.active.size < this.options.concurrency) {
      const top = this.peekLive();
      if (top === undefined || top.dueMs > at) break;
      this.heap.pop();
      this.start(top.entry);
    }
    this.armTimer();
  }

  private peekLive(): HeapNode<Entry> | undefined {
    let top = this.heap.peek();
    while (top !== undefined && !this.isLive(top)) {
      this.heap.pop();
      top = this.heap.peek();
    }
    return top;
  }

  /** One timer, for the earliest queued job, only while a slot is free (a settling run pumps otherwise). */
  private armTimer(): void {
    const top = this.peekLive();
    if (top === undefined || this.active.size >= this.options.concurrency || this.stopping !== undefined) {
      this.clearTimer();
      return;
    }
    // A timer firing before the earliest due time only re-arms: keep it.
    if (this.timer !== undefined && this.timerDueMs <= top.dueMs) return;
    this.clearTimer();
    const delay = Math.min(MAX_TIMER_MS, Math.max(0, top.dueMs - this.now()));
    this.timerDueMs = top.dueMs;
    // Kept ref'd on purpose: a pending upload must keep the process alive.
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.pump();
    }, delay);
  }

  private clearTimer(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private start(entry: Entry): void {
    const controller = new AbortController();
    const run: ActiveRun = { controller, settled: Promise.resolve() };
    entry.run = run;
    this.active.add(entry);
    const job = entry.job;
    run.settled = this.queue.add(() => invoke(job, controller.signal)).then(
      (outcome) => this.settle(entry, run, outcome),
      // invoke() never rejects; p-queue itself failing is still a failed run, not an unhandled rejection.
      (err: unknown) => this.settle(entry, run, { ok: false, err }),
    );
  }

  private settle(entry: Entry, run: ActiveRun, outcome: Outcome): void {
    entry.run = undefined;
    this.active.delete(entry);
    if (run.controller.signal.aborted) {
      this.counts.cancelled++;
      const next = entry.next;
      entry.next = undefined;
      if (next === undefined) this.forget(entry);
      else {
        entry.job = next.job;
        this.enqueue(entry, next.dueMs);
      }
    } else if (outcome.ok) {
      this.counts.succeeded++;
      this.forget(entry);
      ignoreThrow(() => this.options.onSuccess?.(entry.id));
    } else {
      this.counts.failed++;
      entry.attempts++;
      entry.lastError = outcome.err instanceof Error ? outcome.err.message : String(outcome.err);
      const retryAtMs = this.now() + retryDelay(entry.attempts, this.options.retryDelayMs, this.options.maxRetryDelayMs);
      this.enqueue(entry, retryAtMs);
      const attempts = entry.attempts;
      ignoreThrow(() => this.options.onFailure?.(entry.id, outcome.err, attempts, retryAtMs));
    }
    this.pump();
    this.releaseDrainsWhenIdle();
  }

  private releaseDrainsWhenIdle(): void {
    if (this.entries.size === 0) this.releaseDrains();
  }

  private releaseDrains(): void {
    const waiters = this.drainWaiters;
    this.drainWaiters = [];
    for (const release of waiters) release();
  }
}

/** Runs `job`, turning a throw (synchronous or not) into a failed outcome; never rejects. */
async function invoke(job: UploadJob, signal: AbortSignal): Promise<Outcome> {
  if (signal.aborted) return { ok: false, err: signal.reason };
  try {
    await job(signal);
    return { ok: true };
  } catch (err) {
    return { ok: false, err };
  }
}

function abort(run: ActiveRun, why: string): void {
  if (!run.controller.signal.aborted) run.controller.abort(new FsError('ECANCELED', why, { op: 'upload' }));
}

function ignoreThrow(callback: () => void): void {
  try {
    callback();
  } catch {
    // A caller's callback failing must not break the scheduler's bookkeeping.
  }
}

function invalid(what: string): never {
  throw new FsError('EINVAL', `upload scheduler: invalid ${what}`, { op: 'config' });
}
