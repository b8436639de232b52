/**
 * Collects "block used at time T" records in memory and writes them in one
 * batch, so the read path never writes SQLite per call. A flush happens
 * `intervalMs` after the first pending touch, or when asked (before an
 * eviction picks victims, and on close).
 */
export class TouchBatch {
  private pending = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;

  /**
   * @param write persists a batch of (hash, last-used ms) pairs; runs synchronously.
   * @param intervalMs delay between the first pending touch and its flush.
   * @param now clock, ms (tests may pass their own).
   */
  constructor(
    private readonly write: (touches: ReadonlyMap<string, number>) => void,
    private readonly intervalMs = 1000,
    private readonly now: () => number = Date.now,
  ) {}

  /** Number of touches waiting for the next flush. */
  get size(): number {
    return this.pending.size;
  }

  /** Records a use of `hash` now; schedules a flush if none is scheduled. */
  touch(hash: string): void {
    this.pending.set(hash, this.now());
    if (this.timer === undefined) {
      this.timer = setTimeout(() => this.flush(), this.intervalMs);
      // A pending touch must not keep the process alive.
      this.timer.unref();
    }
  }

  /** Forgets a pending touch (the block is gone). */
  forget(hash: string): void {
    this.pending.delete(hash);
  }

  /** Writes every pending touch now. A failed write drops the batch (LRU order is advisory). */
  flush(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.pending.size === 0) return;
    const batch = this.pending;
    this.pending = new Map();
    try {
      this.write(batch);
    } catch {
      // Last-use times only order evictions; losing a batch (database closed) is harmless.
    }
  }

  /** Cancels the timer without writing (for close after a final flush). */
  stop(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
