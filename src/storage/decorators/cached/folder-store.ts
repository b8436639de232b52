import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FsError, fromSystemError } from '../../../core/errors.js';
import { decodeFolderEntry, encodeFolderEntry } from './folder-entry.js';
import { checkTtl, type CacheStore } from './store.js';

/** Options of createFolderCacheStore. */
export interface FolderCacheStoreOptions {
  /** The folder the entries live in (created when missing). Give each store its own folder. */
  dir: string;
  /** Upper bound on the bytes of entry files; least recently used entries are deleted first. */
  maxBytes: number;
}

interface IndexedFile {
  bytes: number;
}

const TEMP_SUFFIX = '.tmp';

/**
 * A CacheStore in a local folder, one file per entry (see folder-entry.ts for
 * the format), under `<dir>/<2 hex>/<sha256 of the key>`:
 * - writes are atomic: a temporary file in the same folder, then a rename;
 * - entries survive a restart: a new store on the same folder serves them
 *   (until they expire); leftover temporary files are removed at start;
 * - a corrupt or truncated entry file is a miss, and is deleted;
 * - the folder stays under `maxBytes`: the store indexes the files once (on
 *   its first call) and deletes least recently used entries (since the start,
 *   by file time before it) when a write goes past the bound.
 * Operations on one key are serialized in this process. One process per
 * folder: two processes sharing it stay correct entry by entry, but neither
 * accounts the other's bytes.
 */
export class FolderCacheStore implements CacheStore {
  readonly kind = 'folder';
  /** Entry files by name, in least-recently-used order (Map insertion order). */
  private readonly index = new Map<string, IndexedFile>();
  private bytes = 0;
  private loading: Promise<void> | undefined;
  private readonly queues = new Map<string, Promise<unknown>>();

  constructor(
    readonly dir: string,
    private readonly maxBytes: number,
  ) {
    if (typeof dir !== 'string' || dir === '') throw new FsError('EINVAL', 'folder cache store: dir must name a folder', { op: 'config' });
    if (!Number.isFinite(maxBytes) || maxBytes <= 0) {
      throw new FsError('EINVAL', `folder cache store: maxBytes must be a positive number, got ${maxBytes}`, { path: dir, op: 'config' });
    }
  }

  /** Bytes of entry files currently accounted. */
  get usedBytes(): number {
    return this.bytes;
  }

  async get(key: string): Promise<Buffer | undefined> {
    await this.load();
    const name = fileName(key);
    return this.serial(name, async () => {
      let file: Buffer;
      try {
        file = await readFile(this.pathOf(name));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return this.forget(name);
        throw fromSystemError(err, { path: this.pathOf(name), op: 'cache read' });
      }
      const entry = decodeFolderEntry(file);
      if (entry === undefined || entry.expiresAt <= Date.now()) {
        await this.unlinkQuietly(name);
        return undefined;
      }
      if (entry.key !== key) return undefined; // another key with the same hash: not ours
      this.touch(name, file.length);
      return entry.value;
    });
  }

  async set(key: string, value: Buffer, ttlMs: number): Promise<void> {
    checkTtl(ttlMs);
    await this.load();
    const name = fileName(key);
    const file = encodeFolderEntry({ key, value, expiresAt: Date.now() + ttlMs });
    await this.serial(name, async () => {
      if (file.length > this.maxBytes) return this.unlinkQuietly(name);
      const target = this.pathOf(name);
      const temp = `${target}.${process.pid}.${randomBytes(4).toString('hex')}${TEMP_SUFFIX}`;
      try {
        await mkdir(join(this.dir, name.slice(0, 2)), { recursive: true });
        await writeFile(temp, file);
        await rename(temp, target);
      } catch (err) {
        await rm(temp, { force: true }).catch(() => undefined);
        throw fromSystemError(err, { path: target, op: 'cache write' });
      }
      this.touch(name, file.length);
    });
    this.evict();
  }

  async delete(key: string): Promise<void> {
    await this.load();
    const name = fileName(key);
    await this.serial(name, () => this.unlinkQuietly(name));
  }

  async close(): Promise<void> {}

  /** Indexes the folder once: entry sizes in file-time order; leftover temporary files removed. Retried after a failure. */
  private load(): Promise<void> {
    this.loading ??= this.scan().catch((err: unknown) => {
      this.loading = undefined;
      throw fromSystemError(err, { path: this.dir, op: 'cache open' });
    });
    return this.loading;
  }

  private async scan(): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    const found: Array<{ name: string; bytes: number; mtime: number }> = [];
    for (const shard of await readdir(this.dir)) {
      if (!/^[0-9a-f]{2}$/.test(shard)) continue;
      const files = await readdir(join(this.dir, shard)).catch(() => [] as string[]);
      for (const file of files) {
        const path = join(this.dir, shard, file);
        if (file.endsWith(TEMP_SUFFIX)) {
          await rm(path, { force: true });
          continue;
        }
        if (!/^[0-9a-f]{64}$/.test(file) || file.slice(0, 2) !== shard) continue;
        const info = await stat(path).catch(() => undefined);
        if (info?.isFile()) found.push({ name: file, bytes: info.size, mtime: info.mtimeMs });
      }
    }
    found.sort((a, b) => a.mtime - b.mtime);
    for (const { name, bytes } of found) this.touch(name, bytes);
    this.evict();
  }

  private pathOf(name: string): string {
    return join(this.dir, name.slice(0, 2), name);
  }

  /** Records `name` as the most recently used entry of `bytes`. */
  private touch(name: string, bytes: number): void {
    const old = this.index.get(name);
    if (old !== undefined) {
      this.bytes -= old.bytes;
      this.index.delete(name);
    }
    this.index.set(name, { bytes });
    this.bytes += bytes;
  }

  private forget(name: string): undefined {
    const old = this.index.get(name);
    if (old !== undefined) {
      this.bytes -= old.bytes;
      this.index.delete(name);
    }
    return undefined;
  }

  private async unlinkQuietly(name: string): Promise<void> {
    this.forget(name);
    try {
      await unlink(this.pathOf(name));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw fromSystemError(err, { path: this.pathOf(name), op: 'cache delete' });
    }
  }

  /** Deletes least recently used entries until the bound holds (the accounting changes at once, the files follow). */
  private evict(): void {
    for (const name of this.index.keys()) {
      if (this.bytes <= this.maxBytes) return;
      void this.serial(name, () => this.unlinkQuietly(name)).catch(() => undefined);
      this.forget(name);
    }
  }

  /** Runs `action` after every earlier operation on the same entry file. */
  private serial<T>(name: string, action: () => Promise<T>): Promise<T> {
    const previous = this.queues.get(name) ?? Promise.resolve();
    const next = previous.then(action, action);
    const settled = next.catch(() => undefined);
    this.queues.set(name, settled);
    void settled.then(() => {
      if (this.queues.get(name) === settled) this.queues.delete(name);
    });
    return next;
  }
}

/** A folder CacheStore (see FolderCacheStore). EINVAL for an empty dir or a bound that is not positive. */
export function createFolderCacheStore(options: FolderCacheStoreOptions): FolderCacheStore {
  return new FolderCacheStore(options.dir, options.maxBytes);
}

function fileName(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}
