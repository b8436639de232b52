import { createClient, ErrorReply, RESP_TYPES } from '@redis/client';
import { FsError } from '../../../core/errors.js';
import { checkTtl, type CacheStore } from './store.js';

/** Options of createRedisCacheStore. */
export interface RedisCacheStoreOptions {
  /** redis://[user:password@]host:port[/db] (or rediss:// for TLS). */
  url: string;
  /**
   * Prepended to every key (default 'storaged:cache:'). Entries are keyed by path only, so every disk
   * cached in one Redis needs its own prefix (e.g. 'storaged:cache:<disk>:'); drivers meant to share
   * a cache (the same backend) use the same one.
   */
  keyPrefix?: string;
  /** How long one command (or the connection) may take before it counts as failed (default 1000 ms). */
  timeoutMs?: number;
  /** After a failed connection, how long calls fail at once before the next attempt (default 1000 ms). */
  retryDelayMs?: number;
}

/** The few commands the store sends (node-redis' client type is generic beyond what this needs). */
interface RedisConnection {
  readonly isReady: boolean;
  get(key: string): Promise<Buffer | null>;
  set(key: string, value: Buffer, options: { expiration: { type: 'PX'; value: number } }): Promise<unknown>;
  del(key: string): Promise<unknown>;
  connect(): Promise<unknown>;
  on(event: 'error', listener: (err: unknown) => void): unknown;
  destroy(): void;
}

const DEFAULT_KEY_PREFIX = 'storaged:cache:';

/**
 * A CacheStore in Redis (node-redis), for caches shared by several processes
 * or machines. It connects lazily, on the first call, and never waits on a
 * Redis that is away: commands are not queued while disconnected, each
 * command and connection attempt is bounded by `timeoutMs`, a lost
 * connection is not retried in the background, and after a failed attempt
 * or a command that got no answer (the connection is then dropped) calls
 * reject at once for `retryDelayMs` before the next attempt. Every
 * failure is a rejection with an FsError (ECONNREFUSED, ETIMEDOUT or EIO),
 * which the cached driver treats as a miss. Values are stored as raw bytes
 * with a millisecond TTL (SET key value PX ttl). close() disconnects; the
 * next call connects again.
 */
export class RedisCacheStore implements CacheStore {
  readonly kind = 'redis';
  private readonly keyPrefix: string;
  private readonly timeoutMs: number;
  private readonly retryDelayMs: number;
  private connection: RedisConnection | undefined;
  private connecting: Promise<RedisConnection> | undefined;
  private retryAt = 0;
  private lastError: unknown;
  /** Bumped by close(), so a connection attempt that close() overtook is dropped, not kept open. */
  private epoch = 0;

  constructor(private readonly options: RedisCacheStoreOptions) {
    if (typeof options.url !== 'string' || !/^rediss?:\/\//.test(options.url)) {
      throw new FsError('EINVAL', `redis cache store: url must be redis://host:port or rediss://..., got '${redactUrl(String(options.url))}'`, { op: 'config' });
    }
    this.keyPrefix = options.keyPrefix ?? DEFAULT_KEY_PREFIX;
    this.timeoutMs = positive(options.timeoutMs ?? 1000, 'timeoutMs');
    this.retryDelayMs = positive(options.retryDelayMs ?? 1000, 'retryDelayMs', true);
  }

  async get(key: string): Promise<Buffer | undefined> {
    const connection = await this.connect();
    const value = await this.command(connection, () => connection.get(this.keyPrefix + key), 'GET');
    return value === null ? undefined : value;
  }

  async set(key: string, value: Buffer, ttlMs: number): Promise<void> {
    checkTtl(ttlMs);
    const connection = await this.connect();
    await this.command(connection, () => connection.set(this.keyPrefix + key, value, { expiration: { type: 'PX', value: Math.ceil(ttlMs) } }), 'SET');
  }

  async delete(key: string): Promise<void> {
    const connection = await this.connect();
    await this.command(connection, () => connection.del(this.keyPrefix + key), 'DEL');
  }

  async close(): Promise<void> {
    const connection = this.connection;
    this.epoch++;
    this.connection = undefined;
    this.connecting = undefined;
    this.retryAt = 0;
    discard(connection);
  }

  /** The ready connection, a new one when there is none (at most one attempt per retryDelayMs). */
  private async connect(): Promise<RedisConnection> {
    if (this.connection?.isReady) return this.connection;
    if (this.connecting) return this.connecting;
    if (Date.now() < this.retryAt) throw this.unavailable('connect', this.lastError);
    discard(this.connection);
    this.connection = undefined;
    const epoch = this.epoch;
    const attempt = this.open().then(
      (connection) => {
        if (epoch !== this.epoch) {
          discard(connection);
          throw new FsError('EIO', `redis cache store ${redactUrl(this.options.url)}: closed while connecting`, { op: 'cache connect' });
        }
        this.connection = connection;
        return connection;
      },
      (err: unknown) => {
        this.retryAt = Date.now() + this.retryDelayMs;
        this.lastError = err;
        throw this.unavailable('connect', err);
      },
    );
    this.connecting = attempt;
    try {
      return await attempt;
    } finally {
      if (this.connecting === attempt) this.connecting = undefined;
    }
  }

  private async open(): Promise<RedisConnection> {
    const client = createClient({
      url: this.options.url,
      disableOfflineQueue: true,
      socket: { connectTimeout: this.timeoutMs, reconnectStrategy: false },
      commandOptions: { typeMapping: { [RESP_TYPES.BLOB_STRING]: Buffer }, timeout: this.timeoutMs },
    }) as unknown as RedisConnection; // the generic client type, narrowed to the commands used here
    // Without a listener node-redis would throw connection errors as uncaught; failures surface on the calls instead.
    client.on('error', (err) => {
      this.lastError = err;
    });
    try {
      await withTimeout(client.connect(), this.timeoutMs, 'connect');
    } catch (err) {
      discard(client);
      throw err;
    }
    return client;
  }

  /** Runs one command, mapping any failure (timeout, closed connection, Redis error) to an FsError. */
  private async command<T>(connection: RedisConnection, send: () => Promise<T>, name: string): Promise<T> {
    try {
      return await withTimeout(send(), this.timeoutMs, name);
    } catch (err) {
      this.lastError = err;
      if (!(err instanceof ErrorReply)) {
        // Not an answer from Redis (a timeout, a lost socket): drop the connection and fail fast for a while.
        discard(connection);
        if (this.connection === connection) this.connection = undefined;
        this.retryAt = Date.now() + this.retryDelayMs;
      }
      throw this.unavailable(name, err);
    }
  }

  private unavailable(op: string, cause: unknown): FsError {
    const code = codeOf(cause);
    const reason = cause instanceof Error ? cause.message : 'not reachable';
    return new FsError(code, `redis cache store ${redactUrl(this.options.url)}: ${op} failed: ${reason}`, { op: `cache ${op}`, cause });
  }
}

/** A Redis CacheStore (see RedisCacheStore). EINVAL for a url that is not redis:// or rediss://. */
export function createRedisCacheStore(options: RedisCacheStoreOptions): RedisCacheStore {
  return new RedisCacheStore(options);
}

/** Drops a connection; one the client already closed itself (node-redis then throws on destroy) is fine. */
function discard(connection: RedisConnection | undefined): void {
  try {
    connection?.destroy();
  } catch {
    // already closed
  }
}

function positive(value: number, name: string, allowZero = false): number {
  if (!Number.isFinite(value) || value < 0 || (!allowZero && value === 0)) {
    throw new FsError('EINVAL', `redis cache store: ${name} must be a positive number of milliseconds, got ${value}`, { op: 'config' });
  }
  return value;
}

async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new FsError('ETIMEDOUT', `redis ${what}: no answer within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
    promise.catch(() => undefined); // a late rejection after the timeout is expected, not unhandled
  }
}

function codeOf(cause: unknown): 'ECONNREFUSED' | 'ETIMEDOUT' | 'EIO' {
  let current: unknown = cause;
  for (let depth = 0; depth < 4 && current && typeof current === 'object'; depth++) {
    const code = (current as { code?: unknown }).code;
    if (code === 'ECONNREFUSED' || code === 'ETIMEDOUT') return code;
    current = (current as { cause?: unknown }).cause;
  }
  return 'EIO';
}

/** The url without its password, for messages. */
function redactUrl(url: string): string {
  return url.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@');
}
