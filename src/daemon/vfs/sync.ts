import type { FailingOperation } from '../status.js';
import { createUploadScheduler } from '../writeback/scheduler.js';
import type { Journal, UploadScheduler } from '../writeback/types.js';
import { commitFile } from './commit.js';
import type { VfsContext } from './context.js';
import { withFile } from './lifecycle.js';
import { NamespaceRunner } from './op-runner.js';
import { Gate } from './queues.js';
import type { NamespaceOp } from './remote-ops.js';
import { SyncLedger, type SyncTotals } from './sync-ledger.js';
import type { Ino } from './types.js';
import { uploadHeld } from './upload-observer.js';

export type { SyncTotals } from './sync-ledger.js';

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
 * Namespace operations run in NamespaceRunner (op-runner.ts); what is
 * failing or in flight is kept in the SyncLedger.
 */
export class BackendSync {
  private readonly gate = new Gate();
  private readonly scheduler: UploadScheduler;
  private readonly ledger: SyncLedger;
  private readonly ops: NamespaceRunner;
  private readonly stopping = new AbortController();
  /** Uploads to run once more after their current run settled. */
  private readonly again = new Set<Ino>();
  /** Uploads the UploadObserver holds back: journaled, not queued, until release(). */
  private readonly held = new Set<Ino>();

  /** `onSwept`: keys a directory rename moved that the index did not know (to be listed). */
  constructor(
    private readonly ctx: VfsContext,
    private readonly journal: Journal,
    private readonly settings: SyncSettings,
    onSwept: (keys: string[]) => Promise<void>,
  ) {
    this.ledger = new SyncLedger(ctx, journal);
    this.ops = new NamespaceRunner(ctx, journal, this.gate, this.ledger, settings, this.stopping.signal, onSwept);
    this.scheduler = createUploadScheduler({
      concurrency: settings.concurrency,
      retryDelayMs: settings.retryDelayMs,
      maxRetryDelayMs: settings.maxRetryDelayMs,
      onSuccess: (id) => {
        this.ledger.cleared(id);
        const ino = Number(id.slice('upload:'.length));
        if (this.again.delete(ino)) this.queueUpload(ino, this.settings.uploadDelayMs);
      },
      onFailure: (id, err, attempts, retryAtMs) => {
        if (this.stopping.signal.aborted) return;
        const ino = Number(id.slice('upload:'.length));
        this.ledger.failed(id, 'upload', ino, err, this.journal.uploadOf(ino)?.seq, attempts, retryAtMs);
      },
    });
  }

  /** Counters since the VFS opened. */
  get totals(): SyncTotals {
    return this.ledger.totals;
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
    if (recorded) this.ops.start(recorded.seq, recorded.op);
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

  /** A held upload of `ino` may go: it is queued now (nothing happens when none is held). */
  releaseHeld(ino: Ino): void {
    if (this.held.delete(ino)) this.queueUpload(ino, 0);
  }

  /** Paths of the uploads held back now. */
  heldPaths(): string[] {
    return [...this.held].map((ino) => this.ctx.index.pathOf(ino));
  }

  /** Scheduler counters (for status and tests). */
  schedulerStats(): ReturnType<UploadScheduler['stats']> {
    return this.scheduler.stats();
  }

  /** Forgets the pending upload of an inode that is gone. */
  dropUpload(ino: Ino): void {
    this.held.delete(ino);
    this.journal.removeUpload(ino);
    this.ledger.cleared(uploadId(ino));
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
      else this.ops.start(entry.seq, entry.op);
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
    return this.ops.active === 0 && this.journal.count() === 0 && this.scheduler.stats().queued + this.scheduler.stats().running === 0;
  }

  /**
   * Runs everything now and waits until the backend has it all (every
   * journal row done). `onProgress` is called about once a second.
   */
  async drain(onProgress?: () => void): Promise<void> {
    const timer = onProgress ? setInterval(onProgress, 1000) : undefined;
    try {
      // Operations given up earlier get another chance (the backend may accept them now).
      this.ops.retryGivenUp();
      while (!this.stopping.signal.aborted) {
        this.ops.wakeAll();
        this.scheduler.expedite();
        await this.scheduler.drain();
        if (this.ops.active > 0) await this.ops.settled();
        else if (this.scheduler.stats().queued + this.scheduler.stats().running === 0) break;
      }
    } finally {
      if (timer) clearInterval(timer);
    }
    const givenUp = this.ops.givenUpError();
    if (givenUp) throw givenUp;
  }

  /** Resolves when the renames in flight that may move `ino`'s object (its own, and directory renames) are done. */
  movesSettled(ino: Ino): Promise<void> {
    return this.ops.movesSettled(ino);
  }

  /** Stops retrying and starting: running requests end, everything left stays journaled. */
  async stop(): Promise<void> {
    this.stopping.abort();
    await this.scheduler.stop();
    await this.ops.settled();
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
    return { operations: entries.length, uploads, bytes, inFlight: [...this.ledger.inFlight.values()], failing: this.ledger.failures() };
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
        this.held.delete(ino);
        this.journal.removeUpload(ino);
        this.ledger.cleared(id);
        return;
      }
      // A drop folder checks the file first: the row stays journaled, releaseHeld() queues it again.
      if (uploadHeld(this.ctx, node)) {
        this.held.add(ino);
        return;
      }
      this.held.delete(ino);
      this.ledger.inFlight.set(id, this.ctx.index.pathOf(ino));
      try {
        await withFile(this.ctx, node, (file) => commitFile(this.ctx, file, signal));
      } finally {
        this.ledger.inFlight.delete(id);
      }
      this.ledger.cleared(id);
      const after = this.ctx.index.get(ino);
      const open = this.ctx.handles.file(ino);
      if (!after || after.nlink === 0 || (after.state === 'clean' && open?.content.isDirty() !== true && !this.ctx.metaChanges.has(ino))) {
        this.journal.removeUpload(ino);
        this.ledger.totals.uploads++;
        this.ledger.totals.uploadedBytes += after?.size ?? 0;
        this.ledger.totals.done++;
      } else if (!open) {
        // Changed while it uploaded (attributes that raced it): once more, once this run has settled.
        this.again.add(ino);
      }
    });
  }
}

function uploadId(ino: Ino): string {
  return `upload:${ino}`;
}
