/**
 * Small async locks for one file's content: a FIFO mutex and a FIFO
 * readers-writer lock. Neither is re-entrant.
 */

/** Runs tasks one at a time, in the order they asked. */
export class Mutex {
  private tail: Promise<void> = Promise.resolve();

  /** Runs `fn` once every earlier task has finished; resolves or rejects with it. */
  run<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.tail.then(fn);
    this.tail = result.then(
      () => undefined,
      () => undefined,
    );
    return result;
  }
}

interface Waiter {
  exclusive: boolean;
  wake: () => void;
}

/**
 * Shared holders run together; an exclusive holder runs alone. Waiters are
 * served in arrival order, so a waiting exclusive holder is not starved by
 * later shared ones.
 */
export class ReadWriteLock {
  private sharedHolders = 0;
  private exclusiveHeld = false;
  private readonly waiters: Waiter[] = [];

  /** Runs `fn` alongside other shared holders, never alongside an exclusive one. */
  shared<T>(fn: () => Promise<T>): Promise<T> {
    return this.hold(false, fn);
  }

  /** Runs `fn` alone. */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    return this.hold(true, fn);
  }

  private async hold<T>(exclusive: boolean, fn: () => Promise<T>): Promise<T> {
    if (this.waiters.length > 0 || !this.canEnter(exclusive)) {
      await new Promise<void>((wake) => this.waiters.push({ exclusive, wake }));
    } else {
      this.enter(exclusive);
    }
    try {
      return await fn();
    } finally {
      this.leave(exclusive);
    }
  }

  private canEnter(exclusive: boolean): boolean {
    return exclusive ? !this.exclusiveHeld && this.sharedHolders === 0 : !this.exclusiveHeld;
  }

  private enter(exclusive: boolean): void {
    if (exclusive) this.exclusiveHeld = true;
    else this.sharedHolders++;
  }

  private leave(exclusive: boolean): void {
    if (exclusive) this.exclusiveHeld = false;
    else this.sharedHolders--;
    while (this.waiters.length > 0 && this.canEnter(this.waiters[0]!.exclusive)) {
      const next = this.waiters.shift()!;
      this.enter(next.exclusive);
      next.wake();
    }
  }
}
