import type { Ino } from '../vfs/types.js';
import type { CleanSource } from './types.js';

/**
 * One file's clean (backend) version as the fetch machinery sees it. A new
 * binding is made whenever the clean version may have changed (commit,
 * invalidate, a new remote version); blocks fetched for an older epoch are
 * still returned to their reader but never recorded in the block map.
 */
export interface CleanBinding {
  readonly ino: Ino;
  readonly source: CleanSource;
  readonly epoch: number;
}

/**
 * Epoch counters per inode. `current(ino)` is the epoch a fetch must still
 * see when it completes for its block to be recorded in the index.
 */
export class Epochs {
  private counter = 0;
  private readonly byIno = new Map<Ino, number>();

  /** The current epoch of an inode (0 until first bumped). */
  current(ino: Ino): number {
    return this.byIno.get(ino) ?? 0;
  }

  /** Starts a new epoch for an inode: fetches of earlier ones are no longer recorded. */
  bump(ino: Ino): number {
    const next = ++this.counter;
    this.byIno.set(ino, next);
    return next;
  }

  /** True while `binding` belongs to the inode's current epoch. */
  isCurrent(binding: CleanBinding): boolean {
    return this.current(binding.ino) === binding.epoch;
  }
}

/** Bytes of block `index` of content of `size` bytes cut in blocks of `blockSize`. */
export function blockLength(index: number, size: number, blockSize: number): number {
  return Math.max(0, Math.min(blockSize, size - index * blockSize));
}

/** Number of blocks of content of `size` bytes. */
export function blockCount(size: number, blockSize: number): number {
  return Math.ceil(size / blockSize);
}
