import { createLogger, type Logger } from '../../../core/logger.js';
import type { CacheStore } from './store.js';

/** Counters of one cached driver, for tests and status pages. */
export interface CacheCounters {
  /** Answers served from the store without asking the inner driver. */
  hits: number;
  /** Lookups that found nothing usable and asked the inner driver. */
  misses: number;
  /** Lookups that skipped the store (it failed, or an invalidation is still owed, or an upload URL is live). */
  bypasses: number;
  /** Store operations that failed (each one answered by the inner driver instead). */
  storeErrors: number;
}

let sharedLogger: Logger | undefined;

/**
 * A CacheStore seen through a guard that never rejects: a failed get is a
 * miss (undefined), a failed set or delete answers false. The first failure
 * of a run of failures is logged (warn), the rest are only counted, and the
 * first success after them is logged once (info), so a Redis that is down
 * gives two log lines, not one per call.
 */
export class GuardedStore {
  private failing = false;

  constructor(
    readonly store: CacheStore,
    readonly counters: CacheCounters,
    private readonly label: string,
    private readonly logger?: Logger,
  ) {}

  async get(key: string): Promise<Buffer | undefined> {
    try {
      const value = await this.store.get(key);
      this.succeeded();
      return value;
    } catch (err) {
      this.failed(err);
      return undefined;
    }
  }

  async set(key: string, value: Buffer, ttlMs: number): Promise<boolean> {
    try {
      await this.store.set(key, value, ttlMs);
      this.succeeded();
      return true;
    } catch (err) {
      this.failed(err);
      return false;
    }
  }

  /** Like get, for several keys at once; undefined (not a partial answer) when any of them failed. */
  async getAll(keys: readonly string[]): Promise<Array<Buffer | undefined> | undefined> {
    try {
      const values = await Promise.all(keys.map((key) => this.store.get(key)));
      this.succeeded();
      return values;
    } catch (err) {
      this.failed(err);
      return undefined;
    }
  }

  private succeeded(): void {
    if (!this.failing) return;
    this.failing = false;
    this.log().info({ store: this.store.kind, driver: this.label }, 'cache store answers again');
  }

  private failed(err: unknown): void {
    this.counters.storeErrors++;
    if (this.failing) return;
    this.failing = true;
    const reason = err instanceof Error ? err.message : String(err);
    this.log().warn({ store: this.store.kind, driver: this.label, err: reason }, 'cache store failed; the inner driver answers until it is back');
  }

  private log(): Logger {
    if (this.logger) return this.logger;
    sharedLogger ??= createLogger('storaged-cache');
    return sharedLogger;
  }
}
