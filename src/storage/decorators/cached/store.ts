/**
 * Where the cached decorator keeps its entries: a small async key/value
 * store of Buffers with a time to live. Implementations: memory
 * (createMemoryCacheStore), a local folder (createFolderCacheStore) and Redis
 * (createRedisCacheStore).
 *
 * Contract:
 * - Keys are strings of at most a few hundred characters (the cached driver
 *   hashes long paths); values are Buffers.
 * - `get` answers undefined for a key never set, deleted, expired or evicted.
 *   A store may forget any entry at any time (eviction under its byte bound):
 *   the cached driver is built so that a forgotten entry is only a miss,
 *   never a wrong answer.
 * - Operations on one key take effect in the order they were called from one
 *   process, and an awaited `set` is visible to every later `get` of any
 *   process sharing the store (read-your-writes), until it expires.
 * - Any operation may reject (a Redis that is down, a full disk): the cached
 *   driver then falls through to its inner driver. Stores never retry for long.
 * - Entries are keyed by path, not by backend: give each disk its own store
 *   (or, for Redis, its own keyPrefix), or two disks would share answers.
 * - `close` releases connections and timers; a closed store opens again
 *   lazily on its next call, so one store may be shared by several drivers,
 *   each closing it when it closes.
 */
export interface CacheStore {
  /** Short name for logs, e.g. 'memory', 'folder', 'redis'. */
  readonly kind: string;
  /** The value stored under `key`, or undefined when absent or expired. */
  get(key: string): Promise<Buffer | undefined>;
  /** Stores `value` under `key` for `ttlMs` milliseconds (> 0), replacing any value there. */
  set(key: string, value: Buffer, ttlMs: number): Promise<void>;
  /** Removes `key`; a missing key is success. */
  delete(key: string): Promise<void>;
  /** Releases connections and timers (see the interface doc: reopened lazily on use). */
  close(): Promise<void>;
}

/** Throws a RangeError unless `ttlMs` is a positive finite number (a programming error, not an I/O failure). */
export function checkTtl(ttlMs: number): void {
  if (!Number.isFinite(ttlMs) || ttlMs <= 0) throw new RangeError(`cache store: ttlMs must be a positive number of milliseconds, got ${ttlMs}`);
}
