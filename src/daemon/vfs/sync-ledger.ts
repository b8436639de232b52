import { fromSystemError } from '../../core/errors.js';
import type { FailingOperation } from '../status.js';
import type { Journal, JournalOp } from '../writeback/types.js';
import type { VfsContext } from './context.js';
import type { Ino } from './types.js';

/** Counters since the VFS opened. */
export interface SyncTotals {
  done: number;
  retries: number;
  uploads: number;
  uploadedBytes: number;
}

/**
 * What the write-back queue reports about itself: totals, what is being
 * sent now, and the operations whose last attempt failed (by job id:
 * `upload:<ino>` or `op:<seq>`). Failures are also counted in their journal
 * row and logged.
 */
export class SyncLedger {
  readonly totals: SyncTotals = { done: 0, retries: 0, uploads: 0, uploadedBytes: 0 };
  /** Keys being sent now, by job id. */
  readonly inFlight = new Map<string, string>();
  private readonly failing = new Map<string, FailingOperation>();

  constructor(
    private readonly ctx: VfsContext,
    private readonly journal: Journal,
  ) {}

  /** The failing operations now. */
  failures(): FailingOperation[] {
    return [...this.failing.values()];
  }

  /** The job `id` succeeded or went away: it is no longer failing. */
  cleared(id: string): void {
    this.failing.delete(id);
  }

  /** Records a failed attempt: in the journal row `seq` (when known), for status, in the log. */
  failed(id: string, kind: JournalOp['kind'], ino: Ino, err: unknown, seq: number | undefined, attempts: number, retryAtMs: number, path?: string): void {
    const error = fromSystemError(err, { op: kind });
    try {
      if (seq !== undefined) this.journal.recordFailure(seq, { code: error.code, message: error.message });
    } catch (err2) {
      // A full cache disk cannot take the failure record either; the status still shows it.
      this.ctx.logger.debug({ err: err2, seq }, 'could not record a failure in the journal');
    }
    this.totals.retries++;
    this.failing.set(id, { kind, path: path ?? this.ctx.index.pathOf(ino), attempts, code: error.code, message: error.message, retryAtMs });
    this.ctx.logger.warn({ err: error, kind, ino, attempts }, 'backend operation failed; retrying');
  }
}
