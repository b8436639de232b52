import PQueue from 'p-queue';
import { FsError, fromSystemError, isFsError } from '../../core/errors.js';
import type { Journal } from '../writeback/types.js';
import type { VfsContext } from './context.js';
import type { Gate } from './queues.js';
import { opMarks, runOp, type NamespaceOp } from './remote-ops.js';
import { PERMANENT_CODES } from './request-retry.js';
import type { SyncLedger } from './sync-ledger.js';
import type { SyncSettings } from './sync.js';
import type { Ino } from './types.js';

/** Attempts before an operation failing with a permanent code is given up (it stays journaled; sync or the next start try again). */
const PERMANENT_ATTEMPTS = 3;

/**
 * Runs journaled namespace operations (everything but uploads) in the
 * background until the backend agrees, each on its inode's queue, behind
 * the shared/exclusive gate (directory renames and deletions exclusive),
 * at most `concurrency` requests at a time, retrying with a doubling delay.
 * The journal row goes when the operation is done. See BackendSync.
 */
export class NamespaceRunner {
  private readonly requests: PQueue;
  private readonly running = new Set<Promise<void>>();
  /** Running renames, with the inode they concern (directory renames may move any object). */
  private readonly moving = new Map<Promise<void>, { ino: Ino; wholeTree: boolean }>();
  /** Operations given up after permanent failures (still journaled): retryGivenUp() starts them again. */
  private readonly givenUp = new Map<number, { op: NamespaceOp; error: unknown }>();
  /** Operations waiting to retry: wakeAll() makes them retry now. */
  private readonly napping = new Set<() => void>();

  /** `onSwept`: keys a directory rename moved that the index did not know (to be listed). */
  constructor(
    private readonly ctx: VfsContext,
    private readonly journal: Journal,
    private readonly gate: Gate,
    private readonly ledger: SyncLedger,
    private readonly settings: SyncSettings,
    private readonly stopping: AbortSignal,
    private readonly onSwept: (keys: string[]) => Promise<void>,
  ) {
    this.requests = new PQueue({ concurrency: settings.concurrency });
  }

  /** Operations running or waiting to retry. */
  get active(): number {
    return this.running.size;
  }

  /** Runs journal row `seq` in the background (marks its listings busy until done). */
  start(seq: number, op: NamespaceOp): void {
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
          this.ledger.totals.done++;
          // The listings it disturbed are quiet again before the swept objects' directories are listed.
          endMarks();
          if (swept.length > 0 && !this.ctx.closed) await this.onSwept(swept);
        },
        (err: unknown) => {
          if (this.stopping.aborted) return;
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

  /** Starts the given-up operations again (the backend may accept them now). */
  retryGivenUp(): void {
    const retried = [...this.givenUp];
    this.givenUp.clear();
    for (const [seq, { op }] of retried) this.start(seq, op);
  }

  /** Makes every operation waiting before a retry try now. */
  wakeAll(): void {
    for (const wake of [...this.napping]) wake();
  }

  /** Resolves when the operations running now have settled (done, or given up). */
  async settled(): Promise<void> {
    await Promise.allSettled([...this.running]);
  }

  /** FsError naming the operations given up, if any (for sync()). */
  givenUpError(): FsError | undefined {
    if (this.givenUp.size === 0) return undefined;
    const [first] = this.givenUp.values();
    const error = fromSystemError(first!.error, { op: 'sync' });
    return new FsError(error.code, `${this.givenUp.size} backend operation(s) failed for good, first: ${error.message}`, { op: 'sync', cause: first!.error });
  }

  /** Resolves when the renames in flight that may move `ino`'s object (its own, and directory renames) are done. */
  async movesSettled(ino: Ino): Promise<void> {
    const waits = [...this.moving].filter(([, move]) => move.wholeTree || move.ino === ino).map(([run]) => run);
    await Promise.allSettled(waits);
  }

  private async untilDone(seq: number, op: NamespaceOp): Promise<string[]> {
    const id = `op:${seq}`;
    const path = 'key' in op ? op.key : op.to;
    for (let attempt = 1; ; attempt++) {
      this.stopping.throwIfAborted();
      try {
        const swept = await this.requests.add(async () => {
          this.ledger.inFlight.set(id, path);
          try {
            return await runOp(this.ctx, op, this.stopping);
          } finally {
            this.ledger.inFlight.delete(id);
          }
        });
        this.ledger.cleared(id);
        return swept ?? [];
      } catch (err) {
        const delay = Math.min(this.settings.maxRetryDelayMs, this.settings.retryDelayMs * 2 ** Math.min(attempt - 1, 30));
        if (!this.stopping.aborted) this.ledger.failed(id, op.kind, op.ino, err, seq, attempt, Date.now() + delay, path);
        if (isFsError(err) && PERMANENT_CODES.has(err.code) && attempt >= PERMANENT_ATTEMPTS) throw err;
        await this.nap(delay);
      }
    }
  }

  /** Waits `ms` before a retry; wakeAll() ends the wait early, stopping rejects it. */
  private nap(ms: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const signal = this.stopping;
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
}
