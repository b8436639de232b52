import type { Readable } from 'node:stream';
import { FsError, isFsError } from '../../../core/errors.js';
import type { Logger } from '../../../core/logger.js';
import { normalizeDirectory, normalizeKey } from '../../../core/paths.js';
import type {
  Checksum,
  CopyOptions,
  DriverCapabilities,
  FileStat,
  ListOptions,
  ListPage,
  ReadOptions,
  StorageDriver,
  TemporaryUrlOptions,
  Visibility,
  WriteOptions,
  WriteResult,
} from '../../../drivers/types.js';
import { decodeChecksum, decodePage, decodeStat, decodeVisibility, encodeChecksum, encodePage, encodeStat, encodeVisibility } from './codec.js';
import { isServableRange, readSmallFile, serveBytes } from './content.js';
import { Generations, type EntryKind } from './generations.js';
import { GuardedStore, type CacheCounters } from './guarded-store.js';
import type { CacheStore } from './store.js';

/** Options of createCachedDriver. */
export interface CachedOptions {
  /** Where entries live: createMemoryCacheStore, createFolderCacheStore or createRedisCacheStore. */
  store: CacheStore;
  /** How long a cached answer may be served, in milliseconds (> 0). Changes made around this driver show after at most this long. */
  ttlMs: number;
  /** Files up to this many bytes have their content cached (default 1 MiB; 0 caches no content). Bigger files stream from the inner driver. */
  maxContentBytes?: number;
  /** How long "no such file" (ENOENT of stat) is cached, in milliseconds (default ttlMs / 4, at most ttlMs). */
  negativeTtlMs?: number;
  /** Where store failures are logged (default: a storaged logger on stderr). */
  logger?: Logger;
}

const DEFAULT_MAX_CONTENT_BYTES = 1024 * 1024;
/** How long an upload URL's mark outlives the URL, for uploads still running when it expires. */
const UPLOAD_GRACE_MS = 10 * 60 * 1000;

/**
 * A driver that caches another's answers in a CacheStore: stat (ENOENT too,
 * for negativeTtlMs), shallow listing pages, checksum, visibility, and the
 * content of files up to maxContentBytes (read whole once, then whole and
 * ranged reads are served from the cache; bigger files and recursive
 * listings always go to the inner driver).
 *
 * Every change through this driver (write, delete, copy, move,
 * createDirectory, deleteDirectory, setVisibility, and issuing a temporary
 * upload URL) invalidates, once the inner call has settled (even when it
 * failed): the path itself, the stats and listings of all its ancestors, and
 * for deleteDirectory and move everything below the path. Invalidation is by
 * generations kept in the store (see generations.ts), so drivers sharing a
 * store (Redis) see each other's changes at once, and a cached answer is never
 * served after a change through a driver sharing the store finished (if the
 * store refused that driver's invalidation, only that driver knows until it
 * has delivered it; the others may serve the old answer until then, at most
 * for the TTL). Changes made around every cached driver (another program
 * writing to the backend, an upload through a URL issued elsewhere) show once
 * the TTL runs out.
 *
 * The store never changes an answer: any store failure makes that call a
 * miss answered by the inner driver (logged once per run of failures, counted
 * in `counters`), and an invalidation the store refused keeps the store
 * bypassed until it has been delivered. Errors are the inner driver's.
 * close() closes the inner driver and the store (stores reopen lazily, so a
 * store may be shared).
 */
export class CachedDriver implements StorageDriver {
  readonly name: string;
  readonly capabilities: DriverCapabilities;
  /** Hits, misses, bypasses and store failures since creation. */
  readonly counters: CacheCounters = { hits: 0, misses: 0, bypasses: 0, storeErrors: 0 };
  private readonly store: GuardedStore;
  private readonly generations: Generations;
  private readonly ttlMs: number;
  private readonly negativeTtlMs: number;
  private readonly maxContentBytes: number;

  constructor(
    private readonly inner: StorageDriver,
    options: CachedOptions,
  ) {
    this.ttlMs = checkMs(options.ttlMs, 'ttlMs');
    this.negativeTtlMs = Math.min(this.ttlMs, checkMs(options.negativeTtlMs ?? Math.max(1, Math.round(this.ttlMs / 4)), 'negativeTtlMs'));
    this.maxContentBytes = options.maxContentBytes ?? DEFAULT_MAX_CONTENT_BYTES;
    if (!Number.isSafeInteger(this.maxContentBytes) || this.maxContentBytes < 0) {
      throw new FsError('EINVAL', `cached disk: maxContentBytes must be a whole number of bytes >= 0, got ${options.maxContentBytes}`, { op: 'config' });
    }
    if (typeof options.store?.get !== 'function') throw new FsError('EINVAL', 'cached disk: store must be a CacheStore', { op: 'config' });
    this.name = `cached(${inner.name})`;
    this.capabilities = { ...inner.capabilities };
    this.store = new GuardedStore(options.store, this.counters, this.name, options.logger);
    this.generations = new Generations(this.store, Math.max(4 * this.ttlMs, 60_000));
  }

  async stat(path: string): Promise<FileStat> {
    const key = normalizeKey(path, this.capabilities.limits);
    const entry = await this.lookup(key, 'stat', '', decodeStat);
    if (entry.hit !== undefined) {
      if ('found' in entry.hit) return entry.hit.found;
      throw new FsError('ENOENT', entry.hit.missing, { path, op: 'stat' });
    }
    try {
      const found = await this.inner.stat(path);
      await this.fill(entry.key, encodeStat({ found }), this.ttlMs);
      return found;
    } catch (err) {
      if (isFsError(err, 'ENOENT')) await this.fill(entry.key, encodeStat({ missing: err.message }), this.negativeTtlMs);
      throw err;
    }
  }

  async list(dir: string, options: ListOptions): Promise<ListPage> {
    const key = normalizeDirectory(dir, this.capabilities.limits);
    if (options.recursive) return this.inner.list(dir, options);
    const entry = await this.lookup(key, 'list', JSON.stringify([options.pageSize ?? null, options.cursor ?? null]), decodePage);
    if (entry.hit !== undefined) return entry.hit;
    const page = await this.inner.list(dir, options);
    await this.fill(entry.key, encodePage(page), this.ttlMs);
    return page;
  }

  async read(path: string, options?: ReadOptions): Promise<Readable> {
    const key = normalizeKey(path, this.capabilities.limits);
    const signal = options?.signal;
    if (this.maxContentBytes === 0 || signal?.aborted || !isServableRange(options?.range)) return this.inner.read(path, options);
    const entry = await this.lookup(key, 'content', '', (bytes) => bytes);
    if (entry.hit !== undefined) return serveBytes(entry.hit, options?.range, key, signal);
    if (entry.key === undefined) return this.inner.read(path, options);
    let size: number;
    try {
      const stat = await this.stat(path);
      if (stat.type !== 'file') return this.inner.read(path, options);
      size = stat.size;
    } catch {
      return this.inner.read(path, options); // the inner driver gives its own answer for a path it cannot stat
    }
    if (size > this.maxContentBytes) return this.inner.read(path, options);
    const content = await readSmallFile(this.inner, path, this.maxContentBytes, signal);
    if (content === undefined) return this.inner.read(path, options);
    await this.fill(entry.key, content, this.ttlMs);
    return serveBytes(content, options?.range, key, signal);
  }

  async write(path: string, body: Readable | Uint8Array, options?: WriteOptions): Promise<WriteResult> {
    let key: string;
    try {
      key = normalizeKey(path, this.capabilities.limits);
    } catch (err) {
      if (!(body instanceof Uint8Array)) body.destroy(); // refused before reading: release the caller's stream
      throw err;
    }
    return this.changing(() => this.inner.write(path, body, options), [key]);
  }

  async delete(path: string): Promise<void> {
    const key = normalizeKey(path, this.capabilities.limits);
    await this.changing(() => this.inner.delete(path), [key], [key]);
  }

  async createDirectory(path: string, options?: WriteOptions): Promise<void> {
    const key = normalizeDirectory(path, this.capabilities.limits);
    await this.changing(() => this.inner.createDirectory(path, options), [key]);
  }

  async deleteDirectory(path: string): Promise<void> {
    const key = normalizeDirectory(path, this.capabilities.limits);
    await this.changing(() => this.inner.deleteDirectory(path), [key], [key]);
  }

  async copy(from: string, to: string, options?: CopyOptions): Promise<void> {
    normalizeKey(from, this.capabilities.limits);
    const target = normalizeKey(to, this.capabilities.limits);
    await this.changing(() => this.inner.copy(from, to, options), [target]);
  }

  async move(from: string, to: string): Promise<void> {
    const source = normalizeKey(from, this.capabilities.limits);
    const target = normalizeKey(to, this.capabilities.limits);
    await this.changing(() => this.inner.move(from, to), [source, target], [source, target]);
  }

  async setVisibility(path: string, visibility: Visibility): Promise<void> {
    const key = normalizeKey(path, this.capabilities.limits);
    await this.changing(() => this.inner.setVisibility(path, visibility), [key]);
  }

  async getVisibility(path: string): Promise<Visibility> {
    const key = normalizeKey(path, this.capabilities.limits);
    const entry = await this.lookup(key, 'visibility', '', decodeVisibility);
    if (entry.hit !== undefined) return entry.hit;
    const visibility = await this.inner.getVisibility(path);
    await this.fill(entry.key, encodeVisibility(visibility), this.ttlMs);
    return visibility;
  }

  async checksum(path: string): Promise<Checksum> {
    const key = normalizeKey(path, this.capabilities.limits);
    const entry = await this.lookup(key, 'checksum', '', decodeChecksum);
    if (entry.hit !== undefined) return entry.hit;
    const checksum = await this.inner.checksum(path);
    await this.fill(entry.key, encodeChecksum(checksum), this.ttlMs);
    return checksum;
  }

  url(path: string): string {
    return this.inner.url(path);
  }

  async temporaryUrl(path: string, options: TemporaryUrlOptions): Promise<string> {
    return this.inner.temporaryUrl(path, options);
  }

  /** The URL lets anyone change the file without this driver: the path and its ancestors are not cached until it has expired. */
  async temporaryUploadUrl(path: string, options: TemporaryUrlOptions): Promise<string> {
    const key = normalizeKey(path, this.capabilities.limits);
    const url = await this.inner.temporaryUploadUrl(path, options);
    await this.generations.uploading(key, options.expiresIn * 1000 + UPLOAD_GRACE_MS);
    return url;
  }

  async close(): Promise<void> {
    try {
      await this.inner.close();
    } finally {
      await this.store.store.close().catch(() => undefined);
    }
  }

  /** Invalidations not yet delivered to the store (the store is bypassed while there are any). */
  get owedInvalidations(): number {
    return this.generations.owedCount;
  }

  /**
   * Looks up the `kind` entry of normalized `key`: a decoded hit, or the
   * store key to fill after asking the inner driver (undefined: bypass).
   */
  private async lookup<T>(key: string, kind: EntryKind, detail: string, decode: (bytes: Buffer | undefined) => T | undefined): Promise<{ hit?: T; key?: string }> {
    const entryKey = await this.generations.entryKey(key, kind, detail);
    if (entryKey === undefined) {
      this.counters.bypasses++;
      return {};
    }
    const hit = decode(await this.store.get(entryKey));
    if (hit !== undefined) {
      this.counters.hits++;
      return { hit };
    }
    this.counters.misses++;
    return { key: entryKey };
  }

  private async fill(entryKey: string | undefined, value: Buffer, ttlMs: number): Promise<void> {
    if (entryKey !== undefined) await this.store.set(entryKey, value, ttlMs);
  }

  /** Runs a change on the inner driver, then (whatever its outcome) invalidates what it may have changed. */
  private async changing<T>(change: () => Promise<T>, paths: string[], subtrees: string[] = []): Promise<T> {
    try {
      return await change();
    } finally {
      await this.generations.changed(paths, subtrees);
    }
  }
}

/**
 * Wraps `inner` with a cache in `options.store` (see CachedDriver). Throws
 * FsError EINVAL for a ttl that is not positive or a negative content bound.
 * The cached driver owns `inner` and closes it (and the store) in close().
 */
export function createCachedDriver(inner: StorageDriver, options: CachedOptions): CachedDriver {
  return new CachedDriver(inner, options);
}

function checkMs(value: number, name: string): number {
  if (!Number.isFinite(value) || value <= 0) {
    throw new FsError('EINVAL', `cached disk: ${name} must be a positive number of milliseconds, got ${value}`, { op: 'config' });
  }
  return value;
}
