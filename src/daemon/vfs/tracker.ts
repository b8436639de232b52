import { parentKey } from './names.js';

/**
 * Tells a directory refresh whether the backend may have changed under it
 * while it was listing, because of our own mirroring. A listing taken while
 * an upload, delete or move below the directory was in flight could miss or
 * resurrect an entry, so such a listing is discarded rather than reconciled.
 *
 * Operations mark the directory keys they touch (begin...end); directory
 * renames and deletes mark a whole subtree. A listing of `dir` started at
 * `mark()` is usable when no mark on `dir` or one of its ancestors changed
 * since and none is still pending.
 */
export class MutationTracker {
  private clock = 0;
  private readonly changed = new Map<string, number>();
  private readonly pending = new Map<string, number>();
  private readonly subtreeChanged = new Map<string, number>();
  private readonly subtreePending = new Map<string, number>();

  /** The current position; pass it to `quiet` after listing. */
  mark(): number {
    return this.clock;
  }

  /** Starts an operation that changes the listings of `dirs` (and of everything below `subtrees`). */
  begin(dirs: string[], subtrees: string[] = []): void {
    this.touch(dirs, subtrees, +1);
  }

  /** Ends what `begin` started (same arguments). */
  end(dirs: string[], subtrees: string[] = []): void {
    this.touch(dirs, subtrees, -1);
  }

  /** Runs `task` between begin and end. */
  async around<T>(dirs: string[], subtrees: string[], task: () => Promise<T>): Promise<T> {
    this.begin(dirs, subtrees);
    try {
      return await task();
    } finally {
      this.end(dirs, subtrees);
    }
  }

  /** True when nothing touched `dir` since `since` and nothing is in flight there. */
  quiet(dir: string, since: number): boolean {
    if ((this.changed.get(dir) ?? 0) > since || (this.pending.get(dir) ?? 0) > 0) return false;
    for (let key: string | undefined = dir; key !== undefined; key = key === '' ? undefined : parentKey(key)) {
      if ((this.subtreeChanged.get(key) ?? 0) > since || (this.subtreePending.get(key) ?? 0) > 0) return false;
    }
    return true;
  }

  /** True while an operation on `dir` (or a subtree containing it) is in flight or journaled and not done. */
  busy(dir: string): boolean {
    if ((this.pending.get(dir) ?? 0) > 0) return true;
    for (let key: string | undefined = dir; key !== undefined; key = key === '' ? undefined : parentKey(key)) {
      if ((this.subtreePending.get(key) ?? 0) > 0) return true;
    }
    return false;
  }

  private touch(dirs: string[], subtrees: string[], delta: number): void {
    const stamp = ++this.clock;
    for (const dir of new Set(dirs)) bump(this.changed, this.pending, dir, stamp, delta);
    for (const dir of new Set(subtrees)) bump(this.subtreeChanged, this.subtreePending, dir, stamp, delta);
  }
}

function bump(changed: Map<string, number>, pending: Map<string, number>, key: string, stamp: number, delta: number): void {
  changed.set(key, stamp);
  const count = (pending.get(key) ?? 0) + delta;
  if (count > 0) pending.set(key, count);
  else pending.delete(key);
}
