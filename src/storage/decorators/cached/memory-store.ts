import { FsError } from '../../../core/errors.js';
import { checkTtl, type CacheStore } from './store.js';

/** Options of createMemoryCacheStore. */
export interface MemoryCacheStoreOptions {
  /** Upper bound on the bytes held (keys, values and a fixed per-entry overhead); least recently used entries go first. */
  maxBytes: number;
}

/** What one entry is assumed to cost beyond its key and value (Map slot, object, timestamps). */
const ENTRY_OVERHEAD_BYTES = 96;

interface MemoryEntry {
  value: Buffer;
  expiresAt: number;
  cost: number;
}

/**
 * A CacheStore in this process's memory: a Map kept in least-recently-used
 * order, bounded by `maxBytes`. A value bigger than the whole bound is not
 * stored (and any older value under its key is dropped). Expired entries are
 * dropped when met. Values are copied in and handed out as views of the
 * stored copy (callers must not modify them). close() keeps the entries, so
 * drivers sharing the store can each close it.
 */
export class MemoryCacheStore implements CacheStore {
  readonly kind = 'memory';
  private readonly entries = new Map<string, MemoryEntry>();
  private bytes = 0;

  constructor(private readonly maxBytes: number) {
    if (!Number.isFinite(maxBytes) || maxBytes <= 0) {
      throw new FsError('EINVAL', `memory cache store: maxBytes must be a positive number, got ${maxBytes}`, { op: 'config' });
    }
  }

  /** Bytes currently accounted (for tests and status). */
  get usedBytes(): number {
    return this.bytes;
  }

  /** Entries currently held, expired ones included until met. */
  get size(): number {
    return this.entries.size;
  }

  async get(key: string): Promise<Buffer | undefined> {
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    this.entries.delete(key);
    if (entry.expiresAt <= Date.now()) {
      this.bytes -= entry.cost;
      return undefined;
    }
    this.entries.set(key, entry); // most recently used now
    return entry.value;
  }

  async set(key: string, value: Buffer, ttlMs: number): Promise<void> {
    checkTtl(ttlMs);
    this.remove(key);
    const cost = value.length + key.length * 2 + ENTRY_OVERHEAD_BYTES;
    if (cost > this.maxBytes) return;
    this.entries.set(key, { value: Buffer.from(value), expiresAt: Date.now() + ttlMs, cost });
    this.bytes += cost;
    this.evict();
  }

  async delete(key: string): Promise<void> {
    this.remove(key);
  }

  async close(): Promise<void> {}

  private remove(key: string): void {
    const entry = this.entries.get(key);
    if (entry === undefined) return;
    this.entries.delete(key);
    this.bytes -= entry.cost;
  }

  /** Drops least recently used entries until the bound holds. */
  private evict(): void {
    for (const [key, entry] of this.entries) {
      if (this.bytes <= this.maxBytes) return;
      this.entries.delete(key);
      this.bytes -= entry.cost;
    }
  }
}

/** A memory CacheStore bounded by `maxBytes` (see MemoryCacheStore). EINVAL for a bound that is not positive. */
export function createMemoryCacheStore(options: MemoryCacheStoreOptions): MemoryCacheStore {
  return new MemoryCacheStore(options.maxBytes);
}
