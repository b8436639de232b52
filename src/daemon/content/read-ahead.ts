import type { ContentLogger } from './options.js';

/** Settings of one file's read-ahead. */
export interface ReadAheadOptions {
  blockSize: number;
  /** Bytes to keep fetched ahead of a sequential reader at most; 0 disables read-ahead. */
  maxBytes: number;
  /** Prefetches in flight at most. */
  concurrency: number;
  /** Fetches block `index` into the cache; may resolve at once when there is nothing to do. */
  fetch: (index: number) => Promise<void>;
  logger: ContentLogger;
}

/** The window, in blocks, the first sequential read opens. */
export const INITIAL_WINDOW_BLOCKS = 2;

/**
 * Sequential-access detection and prefetch scheduling for one file. A read
 * that starts where the previous one ended is sequential: the window of
 * blocks fetched ahead of it opens at INITIAL_WINDOW_BLOCKS and doubles on
 * every further sequential read, up to maxBytes. Any other read resets it and
 * drops queued prefetches (running ones finish). At most `concurrency`
 * prefetches run at once; their failures are logged and otherwise ignored.
 */
export class ReadAhead {
  private lastEnd: number | undefined;
  private windowBlocks = 0;
  /** Highest block index already queued or fetched ahead in the current run. */
  private scheduledUpTo = -1;
  private queue: number[] = [];
  private active = 0;
  private readonly maxBlocks: number;

  constructor(private readonly options: ReadAheadOptions) {
    this.maxBlocks = options.maxBytes > 0 ? Math.ceil(options.maxBytes / options.blockSize) : 0;
  }

  /**
   * Records a read of [offset, end) and queues prefetches of the blocks
   * after it, among the first `blockCount` blocks of the clean content.
   */
  observe(offset: number, end: number, blockCount: number): void {
    const sequential = this.lastEnd !== undefined && offset === this.lastEnd;
    this.lastEnd = end;
    if (!sequential || this.maxBlocks === 0) {
      this.restart();
      return;
    }
    this.windowBlocks = Math.min(this.windowBlocks === 0 ? INITIAL_WINDOW_BLOCKS : this.windowBlocks * 2, this.maxBlocks);
    const current = Math.floor((end - 1) / this.options.blockSize);
    const last = Math.min(current + this.windowBlocks, blockCount - 1);
    for (let index = Math.max(current + 1, this.scheduledUpTo + 1); index <= last; index++) this.queue.push(index);
    this.scheduledUpTo = Math.max(this.scheduledUpTo, last);
    this.pump();
  }

  /** Forgets the access pattern and queued prefetches (the content changed, or access became random). */
  reset(): void {
    this.lastEnd = undefined;
    this.restart();
  }

  /** Prefetches running or queued. */
  get pending(): number {
    return this.active + this.queue.length;
  }

  private restart(): void {
    this.windowBlocks = 0;
    this.scheduledUpTo = -1;
    this.queue = [];
  }

  private pump(): void {
    while (this.active < this.options.concurrency && this.queue.length > 0) {
      const index = this.queue.shift()!;
      this.active++;
      this.options
        .fetch(index)
        .catch((err: unknown) => this.options.logger.warn({ err, index }, 'read-ahead fetch failed'))
        .finally(() => {
          this.active--;
          this.pump();
        });
    }
  }
}
