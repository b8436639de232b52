/**
 * Small async coordination helpers for the VFS: FIFO queues per key (the
 * backend mirror of one inode runs in the order the index changed), a
 * shared/exclusive gate (writes vs. a commit of the same file) and a bounded
 * parallel map.
 */

/** Runs tasks one after another per key, in submission order; different keys run in parallel. */
export class KeyedQueue<K> {
  private readonly tails = new Map<K, Promise<unknown>>();

  /** Queues `task` behind every earlier task of `key`; resolves or rejects with its result. */
  run<T>(key: K, task: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    const result = previous.then(task, task);
    const tail = result.then(
      () => undefined,
      () => undefined,
    );
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return result;
  }

  /** Resolves when every task queued so far (on any key) has settled. */
  async drain(): Promise<void> {
    while (this.tails.size > 0) await Promise.all([...this.tails.values()]);
  }
}

/**
 * A shared/exclusive gate: any number of shared holders (writes) at once, or
 * one exclusive holder (a commit) with no shared ones. Exclusive requests
 * are not starved: new shared holders wait behind a waiting exclusive one.
 */
export class Gate {
  private shared = 0;
  private exclusive = false;
  private readonly waiting: Array<{ exclusive: boolean; wake: () => void }> = [];

  /** Runs `task` as a shared holder. */
  async withShared<T>(task: () => Promise<T>): Promise<T> {
    if (this.exclusive || this.waiting.length > 0) await this.wait(false);
    else this.shared++;
    try {
      return await task();
    } finally {
      this.shared--;
      this.pump();
    }
  }

  /** Runs `task` as the only holder. */
  async withExclusive<T>(task: () => Promise<T>): Promise<T> {
    if (this.exclusive || this.shared > 0 || this.waiting.length > 0) await this.wait(true);
    else this.exclusive = true;
    try {
      return await task();
    } finally {
      this.exclusive = false;
      this.pump();
    }
  }

  private wait(exclusive: boolean): Promise<void> {
    return new Promise((wake) => this.waiting.push({ exclusive, wake }));
  }

  /** Admits waiters in order: one exclusive, or a run of shared ones. */
  private pump(): void {
    while (!this.exclusive && this.waiting.length > 0) {
      const next = this.waiting[0]!;
      if (next.exclusive) {
        if (this.shared > 0) return;
        this.waiting.shift();
        this.exclusive = true;
        next.wake();
        return;
      }
      this.waiting.shift();
      this.shared++;
      next.wake();
    }
  }
}

/** Maps `items` through `fn` with at most `limit` calls in flight; results keep the input order. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++;
      results[index] = await fn(items[index]!, index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
