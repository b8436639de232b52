import PQueue from 'p-queue';
import { FsError, fromSystemError, isFsError } from '../../core/errors.js';
import type { FailingOperation } from '../status.js';
import { createUploadScheduler } from '../writeback/scheduler.js';
import type { Journal, JournalOp, UploadScheduler } from '../writeback/types.js';
import { commitFile } from './commit.js';
import type { VfsContext } from './context.js';
import { withFile } from './lifecycle.js';
import { Gate } from './queues.js';
import { opMarks, PERMANENT_CODES, runOp, type NamespaceOp } from './remote-ops.js';
import type { Ino } from './types.js';

/** Settings of the write-back of one disk, in ms. */
export interface SyncSettings {
  /** From a file's last close to its upload. */
  uploadDelayMs: number;
  /** Uploads and namespace requests in flight (each). */
  concurrency: number;
  /** First retry delay of a failing operation (doubles per failure). */
  retryDelayMs: number;
  maxRetryDelayMs: number;
}

/** Counters since the VFS opened. */
export interface SyncTotals {
  done: number;
  retries: number;
  uploads: number;
  uploadedBytes: number;
}

/** Attempts before an operation failing with a permanent code is given up (it stays journaled; sync or the next start try again). */
const PERMANENT_ATTEMPTS = 3;

/**
 * The write-back queue of one disk: every backend change the VFS makes is
 * journaled (SQLite, in the transaction of the index change that caused it)
 * and done in the background, so namespace calls and close return at cache
 * speed.
 *
 * Ordering: operations of one inode run in recording order (the inode's
 * KeyedQueue). Directory renames and deletions move or delete whole
 * subtrees, so they run alone: a shared/exclusive gate, taken in recording
 * order before an operation joins its inode queue, lets every earlier
 * operation and upload finish first and holds every later one back. Uploads
 * are delayed and coalesced by the UploadScheduler (one per inode; a write
 * to a file being uploaded cancels and requeues it) and take the gate as
 * shared when they start. Each listing an operation disturbs is marked in
 * the MutationTracker from recording to completion, so a refresh never
 * undoes a change the backend has not seen yet.
 *
 * Failures are retried with a doubling delay (capped); the journal row goes
 * only when the backend agrees. After a crash, resume() replays the journal.
 */
export class BackendSync {
  readonly totals: SyncTotals = { done: 0, retries: 0, uploads: 0, uploadedBytes: 0 };
  private readonly gate = new Gate();
  private readonly scheduler: UploadScheduler;
  /** Bounds the namespace requests in flight. */
  private readonly requests: PQueue;
  private readonly running = new Set<Promise<void>>();
  /** Running namespace operations that move objects (renames), by the inode they concern. */
  private readonly moving = new Map<Promise<void>, { ino: Ino; wholeTree: boolean }>();
  private readonly failing = new Map<string, FailingOperation>();
  private readonly stopping = new AbortController();
  /** Namespace operations given up after permanent failures (still journaled): drain() tries them again. */
  private readonly givenUp = new Map<number, { op: NamespaceOp; error: unknown }>();
  /** Namespace operations waiting to retry: sync() wakes them (retry now). */
  private readonly napping = new Set<() => void>();
  /** Uploads to run once more after their current run settled. */
  private readonly again = new Set<Ino>();
  /** Keys being sent now, by job (for status). */
  private readonly inFlight = new Map<string, string>();

  /** `onSwept`: keys a directory rename moved that the index did not know (to be listed). */
  constructor(
    private readonly ctx: VfsContext,
    private readonly journal: Journal,
    private readonly settings: SyncSettings,
    private readonly onSwept: (keys: string[]) => Promise<void>,
  ) {
    this.requests = new PQueue({ concurrency: settings.concurrency });
    this.scheduler = createUploadScheduler({
      concurrency: settings.concurrency,
      retryDelayMs: settings.retryDelayMs,
      maxRetryDelayMs: settings.maxRetryDelayMs,
      onSuccess: (id) => {
        this.failing.delete(id);
        const ino = Number(id.slice('upload:'.length));
        if (this.again.delete(ino)) this.queueUpload(ino, this.settings.uploadDelayMs);
      },
      onFailure: (id, err, attempts, retryAtMs) => {
        const ino = Number(id.slice('upload:'.length));
        const seq = this.journal.uploadOf(ino)?.seq;
        this.noteFailure(id, 'upload', ino, err, seq, attempts, retryAtMs);
      },
    });
  }

  /**
   * Applies `change` to the index and journals the operation `opOf` makes of
   * its result, in one transaction, then starts the operation in the
   * background. Returns what `change` returned.
   */
  record<T>(change: () => T, opOf: (value: T) => NamespaceOp | undefined): T {
    let recorded: { seq: number; op: NamespaceOp } | undefined;
    const result = this.ctx.index.transaction(() => {
      const value = change();
      const op = opOf(value);
      if (op) recorded = { seq: this.journal.add(op), op };
      return value;
    });
    if (recorded) this.start(recorded.seq, recorded.op);
    return result;
  }

  /**
   * Journals an upload of `ino` without scheduling it (its file is still
   * open; release schedules it), with `change` in the same transaction. No
   * database write when there is no change and the row exists already.
   */
  journalUpload(ino: Ino, change?: () => void): void {
    if (change === undefined && this.journal.uploadOf(ino) !== undefined) return;
    this.ctx.index.transaction(() => {
      change?.();
      this.journal.add({ kind: 'upload', ino });
    });
  }

  /** True when an upload of `ino` is queued or running. */
  hasUpload(ino: Ino): boolean {
    return this.scheduler.has(uploadId(ino));
  }

  /** True while an upload of `ino` is running. */
  uploading(ino: Ino): boolean {
    return this.scheduler.isRunning(uploadId(ino));
  }

  /**
   * Journals an upload of `ino` (with `change` in the same transaction, when
   * given) and schedules it after the upload delay, or at once. A running
   * upload of it is cancelled and started again later.
   */
  scheduleUpload(ino: Ino, options: { now?: boolean; change?: () => void } = {}): void {
    this.journalUpload(ino, options.change);
    this.queueUpload(ino, options.now === true ? 0 : this.settings.uploadDelayMs);
  }


  /**
   * A write reached `ino`: its running upload (if any) is stale and stops
   * now. It is not requeued here: the file is open, and its release (or
   * fsync) schedules the next one; the journal row stays meanwhile.
   */
  interruptUpload(ino: Ino): void {
    if (this.scheduler.isRunning(uploadId(ino))) void this.scheduler.remove(uploadId(ino));
  }

  /** Scheduler counters (for status and tests). */
  schedulerStats(): ReturnType<UploadScheduler['stats']> {
    return this.scheduler.stats();
  }

  /** Forgets the pending upload of an inode that is gone. */
  dropUpload(ino: Ino): void {
    this.journal.removeUpload(ino);
    this.failing.delete(uploadId(ino));
    void this.scheduler.remove(uploadId(ino));
  }

  /**
   * Starts every journaled operation (after a restart), in sequence order;
   * uploads at once. Files with local changes but no journaled upload (a
   * crash before their first close) are journaled and uploaded too, so the
   * backend ends up with what the index shows.
   */
  resume(): number {
    const entries = this.journal.list();
    for (const entry of entries) {
      if (entry.op.kind === 'upload') this.queueUpload(entry.op.ino, 0);
      else this.start(entry.seq, entry.op);
    }
    let unjournaled = 0;
    for (const ino of this.ctx.index.unsyncedFiles()) {
      if (this.journal.uploadOf(ino) !== undefined) continue;
      this.scheduleUpload(ino, { now: true });
      unjournaled++;
    }
    return entries.length + unjournaled;
  }

  /** True when nothing is journaled, queued or running. */
  idle(): boolean {
    return this.running.size === 0 && this.journal.count() === 0 && this.scheduler.stats().queued + this.scheduler.stats().running === 0;
  }

  /**
   * Runs everything now and waits until the backend has it all (every
   * journal row done). `onProgress` is called about once a second.
   */
  async drain(onProgress?: () => void): Promise<void> {
    const timer = onProgress ? setInterval(onProgress, 1000) : undefined;
    try {
      // Operations given up earlier get another chance (the backend may accept them now).
      const retried = [...this.givenUp];
      this.givenUp.clear();
      for (const [seq, { op }] of retried) this.start(seq, op);
      while (!this.stopping.signal.aborted) {
        this.wakeAll();
        this.scheduler.expedite();
        await this.scheduler.drain();
        if (this.running.size > 0) await Promise.all([...this.running]);
        else if (this.scheduler.stats().queued + this.scheduler.stats().running === 0) break;
      }
    } finally {
      if (timer) clearInterval(timer);
    }
    if (this.givenUp.size > 0) {
      const [first] = this.givenUp.values();
      const error = fromSystemError(first!.error, { op: 'sync' });
      throw new FsError(error.code, `${this.givenUp.size} backend operation(s) failed for good, first: ${error.message}`, { op: 'sync', cause: first!.error });
    }
  }

  /** Resolves when the renames in flight that may move `ino`'s object (its own, and directory renames) are done. */
  async movesSettled(ino: Ino): Promise<void> {
    const waits = [...this.moving].filter(([, move]) => move.wholeTree || move.ino === ino).map(([run]) => run);
    await Promise.allSettled(waits);
  }

  /** Stops retrying and starting: running requests end, everything left stays journaled. */
  async stop(): Promise<void> {
    this.stopping.abort();
    await this.scheduler.stop();
    await Promise.allSettled([...this.running]);
  }

  /** Journal rows, uploads among them and their bytes; what runs now; failing operations. */
  pending(): { operations: number; uploads: number; bytes: number; inFlight: string[]; failing: FailingOperation[] } {
    let uploads = 0;
    let bytes = 0;
    const entries = this.journal.list();
    for (const entry of entries) {
      if (entry.op.kind !== 'upload') continue;
      uploads++;
      bytes += this.ctx.index.get(entry.op.ino)?.size ?? 0;
    }
    return { operations: entries.length, uploads, bytes, inFlight: [...this.inFlight.values()], failing: [...this.failing.values()] };
  }

  private queueUpload(ino: Ino, delayMs: number): void {
    this.scheduler.schedule(uploadId(ino), Date.now() + delayMs, (signal) => this.upload(ino, signal));
  }

  /** One run of the upload of `ino` (the scheduler retries a rejection). */
  private async upload(ino: Ino, signal: AbortSignal): Promise<void> {
    const id = uploadId(ino);
    await this.gate.withShared(async () => {
      signal.throwIfAborted();
      const node = this.ctx.index.get(ino);
      if (!node || node.nlink === 0 || node.type !== 'file') {
        this.journal.removeUpload(ino);
        this.failing.delete(id);
        return;
      }
      this.inFlight.set(id, this.ctx.index.pathOf(ino));
      try {
        await withFile(this.ctx, node, (file) => commitFile(this.ctx, file, signal));
      } finally {
        this.inFlight.delete(id);
      }
      this.failing.delete(id);
      const after = this.ctx.index.get(ino);
      const open = this.ctx.handles.file(ino);
      if (!after || after.nlink === 0 || (after.state === 'clean' && open?.content.isDirty() !== true && !this.ctx.metaChanges.has(ino))) {
        this.journal.removeUpload(ino);
        this.totals.uploads++;
        this.totals.uploadedBytes += after?.size ?? 0;
        this.totals.done++;
      } else if (!open) {
        // Changed while it uploaded (attributes that raced it): once more, once this run has settled.
        this.again.add(ino);
      }
    });
  }

  /** Runs a journaled namespace operation in the background until the backend agrees. */
  private start(seq: number, op: NamespaceOp): void {
    const marks = opMarks(op);
    this.ctx.tracker.begin(marks.dirs, marks.subtrees);
    let marked = true;
    const endMarks = () => {
      if (marked) this.ctx.tracker.end(marks.dirs, marks.subtrees);
      marked = false;
    };
    const exclusive = op.kind === 'rename-dir' || op.kind === 'rmdir';
    const task = () => this.ctx.remote.run(op.ino, () => this.untilDone(seq, op));
    const run = (exclusive ? this.gate.withExclusive(task) : this.gate.withShared(task))
      .then(
        async (swept) => {
          this.journal.remove(seq);
          this.totals.done++;
          // The listings it disturbed are quiet again before the swept objects' directories are listed.
          endMarks();
          if (swept.length > 0 && !this.ctx.closed) await this.onSwept(swept);
        },
        (err: unknown) => {
          if (this.stopping.signal.aborted) return;
          this.givenUp.set(seq, { op, error: err });
          this.ctx.logger.error({ err, op }, 'backend operation given up; it stays journaled (storaged sync or the next start tries again)');
        },
      )
      .finally(() => {
        endMarks();
        this.running.delete(run);
        this.moving.delete(run);
      });
    this.running.add(run);
    if (op.kind === 'rename-file' || op.kind === 'rename-dir') this.moving.set(run, { ino: op.ino, wholeTree: op.kind === 'rename-dir' });
  }

  private async untilDone(seq: number, op: NamespaceOp): Promise<string[]> {
    const id = `op:${seq}`;
    for (let attempt = 1; ; attempt++) {
      this.stopping.signal.throwIfAborted();
      try {
        const swept = await this.requests.add(async () => {
          this.inFlight.set(id, opPath(op));
          try {
            return await runOp(this.ctx, op);
          } finally {
            this.inFlight.delete(id);
          }
        });
        this.failing.delete(id);
        return swept ?? [];
      } catch (err) {
        const delay = Math.min(this.settings.maxRetryDelayMs, this.settings.retryDelayMs * 2 ** Math.min(attempt - 1, 30));
        this.noteFailure(id, op.kind, op.ino, err, seq, attempt, Date.now() + delay, opPath(op));
        if (isFsError(err) && PERMANENT_CODES.has(err.code) && attempt >= PERMANENT_ATTEMPTS) throw err;
        await this.nap(delay);
      }
    }
  }

  /** Waits `ms` before a retry; wakeAll() ends the wait early, stop() rejects it. */
  private nap(ms: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const signal = this.stopping.signal;
      if (signal.aborted) return reject(signal.reason);
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        this.napping.delete(done);
        resolve();
      };
      const onAbort = () => {
        clearTimeout(timer);
        this.napping.delete(done);
        reject(signal.reason);
      };
      const timer = setTimeout(done, Math.max(0, ms));
      this.napping.add(done);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  private wakeAll(): void {
    for (const wake of [...this.napping]) wake();
  }

  /** Records a failed attempt: in the journal row `seq` (when known), for status, in the log. */
  private noteFailure(id: string, kind: JournalOp['kind'], ino: Ino, err: unknown, seq: number | undefined, attempts: number, retryAtMs: number, path?: string): void {
    if (this.stopping.signal.aborted) return;
    const error = fromSystemError(err, { op: kind });
    try {
      if (seq !== undefined) this.journal.recordFailure(seq, { code: error.code, message: error.message });
    } catch (err2) {
      // A full cache disk cannot take the failure record either; the status below still shows it.
      this.ctx.logger.debug({ err: err2, seq }, 'could not record a failure in the journal');
    }
    this.totals.retries++;
    this.failing.set(id, { kind, path: path ?? this.ctx.index.pathOf(ino), attempts, code: error.code, message: error.message, retryAtMs });
    this.ctx.logger.warn({ err: error, kind, ino, attempts }, 'backend operation failed; retrying');
  }
}

function uploadId(ino: Ino): string {
  return `upload:${ino}`;
}

function opPath(op: NamespaceOp): string {
  return 'key' in op ? op.key : op.to;
}
