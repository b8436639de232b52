import { normalizeDirectory, normalizeKey } from '../core/paths.js';
import type { CopyOptions, StorageDriver, Visibility, WriteOptions, WriteResult } from '../drivers/types.js';
import { toDriverBody, type PutContents } from './disk-body.js';
import { DEFAULT_LIST_PAGE_SIZE } from './disk-listing.js';
import { DiskReader } from './disk-reader.js';
import { DEFAULT_MAX_REWRITE_BYTES, rewriteWith, type RewriteOptions } from './disk-rewrite.js';
import { LazyDriver, type DriverSource } from './driver-source.js';
import { StorageEvents, type ListenerErrorHandler, type StorageEvent, type StorageEventName, type StorageListener } from './events.js';

export type { DiskMetadata } from './disk-reader.js';

/** Options of a Disk. */
export interface DiskOptions {
  /** The disk's name, in events and messages (default 'disk'). */
  name?: string;
  /** Largest file append/prepend rewrite, in bytes (default DEFAULT_MAX_REWRITE_BYTES, 16 MiB). */
  maxRewriteBytes?: number;
  /** Entries asked for per backend listing request (default 1000). */
  listPageSize?: number;
  /** A hub that also receives this disk's events (the StorageManager passes its own). */
  parentEvents?: StorageEvents;
  /** Where listener errors go (default: a process warning). */
  onListenerError?: ListenerErrorHandler;
}

/** Options of put and writeStream. */
export interface DiskPutOptions {
  visibility?: Visibility;
  /** Content-Type to store (default: guessed from the extension). */
  mimeType?: string;
  /** User metadata (string keys and values) where the backend keeps it (capabilities.metadata). */
  metadata?: Record<string, string>;
  signal?: AbortSignal;
}

/**
 * A disk: the Laravel-style file API over one StorageDriver. Paths are
 * relative to the disk root ('a/b.txt'); every failure is an FsError with
 * an errno-style `code` (ENOENT for a missing file, EINVAL for a bad path...).
 * Every file operation is async, url() included: a configured disk builds
 * its driver (and loads its vendor SDK) on first use. The reads, listings,
 * URLs and assertions are documented on DiskReader.
 *
 * `Missing` is `never` for a plain disk and `null` for the view orNull()
 * returns, whose reads of a missing file (get, getText, readStream, size,
 * lastModified, mimeType, checksum, metadata, getVisibility) answer null
 * instead of rejecting with ENOENT.
 *
 * Every successful write, delete, copy, move, makeDirectory,
 * deleteDirectory and setVisibility emits an event (see events.ts), after
 * the backend confirmed it.
 */
export class Disk<Missing extends null = never> extends DiskReader<Missing> {
  /** This disk's event hub; `disk.on(...)` is a shortcut. */
  readonly events: StorageEvents;
  protected readonly options: DiskOptions;

  /**
   * Wraps a driver (or a DriverSource that builds one lazily). The disk owns
   * it: close() closes it. `shared` is internal (orNull views).
   */
  constructor(driver: StorageDriver | DriverSource, options: DiskOptions = {}, shared?: { events: StorageEvents; missingAsNull: boolean }) {
    const source = isDriver(driver) ? LazyDriver.of(driver) : driver;
    super(source, options.name ?? 'disk', options.listPageSize ?? DEFAULT_LIST_PAGE_SIZE, shared?.missingAsNull ?? false);
    this.options = options;
    this.events = shared?.events ?? new StorageEvents(options.parentEvents, options.onListenerError);
  }

  /** A view of this disk (same driver, same events) whose reads of a missing file answer null. */
  orNull(): Disk<null> {
    return new Disk<null>(this.source, this.options, { events: this.events, missingAsNull: true });
  }

  /** Listens to this disk's events; returns a function that removes the listener. */
  on<K extends StorageEventName>(name: K, listener: StorageListener<K>): () => void {
    return this.events.on(name, listener);
  }

  /** Like on(), for the next matching event only. */
  once<K extends StorageEventName>(name: K, listener: StorageListener<K>): () => void {
    return this.events.once(name, listener);
  }

  /** Removes a listener added with on(). */
  off<K extends StorageEventName>(name: K, listener: StorageListener<K>): void {
    this.events.off(name, listener);
  }

  // ---- writing ----

  /** Stores `contents` at `path`, replacing any file there (see PutContents for what is accepted). Streams are not buffered. */
  async put(path: string, contents: PutContents, options: DiskPutOptions = {}): Promise<WriteResult> {
    return this.#store('put', path, contents, options);
  }

  /** put() for a stream or an (async) generator of chunks, e.g. `writeStream('log.txt', lines())`. */
  async writeStream(path: string, source: PutContents, options: DiskPutOptions = {}): Promise<WriteResult> {
    return this.#store('writeStream', path, source, options);
  }

  /** Adds `data` at the end of the file (creating it). A read and a rewrite: not atomic; EFBIG above maxRewriteBytes (16 MiB by default). */
  async append(path: string, data: string | Uint8Array, options: RewriteOptions = {}): Promise<WriteResult> {
    return this.#rewrite('append', path, data, options);
  }

  /** Adds `data` at the start of the file (creating it). Same limits as append(). */
  async prepend(path: string, data: string | Uint8Array, options: RewriteOptions = {}): Promise<WriteResult> {
    return this.#rewrite('prepend', path, data, options);
  }

  /** Deletes one file or several (in parallel, a few at a time). A missing file is success; a directory is EISDIR. */
  async delete(paths: string | readonly string[]): Promise<void> {
    const driver = await this.driver();
    const list = typeof paths === 'string' ? [paths] : [...paths];
    const failures: unknown[] = [];
    const worker = async (): Promise<void> => {
      for (let path = list.shift(); path !== undefined; path = list.shift()) {
        try {
          await driver.delete(path);
          this.#emit({ type: 'deleted', op: 'delete', path: this.#key(driver, path) });
        } catch (err) {
          failures.push(err);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(8, list.length) }, worker));
    if (failures.length > 0) throw failures[0];
  }

  /** Copies a file, replacing the destination; it keeps the source's type and visibility (and metadata unless given). */
  async copy(from: string, to: string, options: CopyOptions = {}): Promise<void> {
    const driver = await this.driver();
    await driver.copy(from, to, options);
    this.#emit({ type: 'copied', op: 'copy', from: this.#key(driver, from), to: this.#key(driver, to) });
  }

  /** Moves (renames) a file; nothing remains at `from`. */
  async move(from: string, to: string): Promise<void> {
    const driver = await this.driver();
    await driver.move(from, to);
    this.#emit({ type: 'moved', op: 'move', from: this.#key(driver, from), to: this.#key(driver, to) });
  }

  /** Creates a directory and its parents (idempotent). */
  async makeDirectory(path: string, options: Pick<WriteOptions, 'visibility'> = {}): Promise<void> {
    const driver = await this.driver();
    await driver.createDirectory(path, options);
    this.#emit({ type: 'directoryCreated', op: 'makeDirectory', path: normalizeDirectory(path, driver.capabilities.limits) });
  }

  /** Deletes a directory and everything below it (a missing one is success). */
  async deleteDirectory(path: string): Promise<void> {
    const driver = await this.driver();
    await driver.deleteDirectory(path);
    this.#emit({ type: 'directoryDeleted', op: 'deleteDirectory', path: normalizeDirectory(path, driver.capabilities.limits) });
  }

  /** Makes a file public or private (ENOTSUP where the backend has no visibility). */
  async setVisibility(path: string, visibility: Visibility): Promise<void> {
    const driver = await this.driver();
    await driver.setVisibility(path, visibility);
    this.#emit({ type: 'visibilityChanged', op: 'setVisibility', path: this.#key(driver, path), visibility });
  }

  /** Closes the driver (connections, timers). A disk of a StorageManager is closed by the manager's close(). */
  async close(): Promise<void> {
    await this.source.close();
  }

  async #store(op: 'put' | 'writeStream', path: string, contents: PutContents, options: DiskPutOptions): Promise<WriteResult> {
    const driver = await this.driver();
    const { body, size } = toDriverBody(contents, path, op);
    const result = await driver.write(path, body, { ...options, ...(size !== undefined ? { size } : {}) });
    this.#emit({ type: 'written', op, path: this.#key(driver, path), size: result.size, ...(result.etag ? { etag: result.etag } : {}) });
    return result;
  }

  async #rewrite(op: 'append' | 'prepend', path: string, data: string | Uint8Array, options: RewriteOptions): Promise<WriteResult> {
    const driver = await this.driver();
    const maxBytes = this.options.maxRewriteBytes ?? DEFAULT_MAX_REWRITE_BYTES;
    const result = await rewriteWith(driver, path, data, op, { ...options, maxBytes });
    this.#emit({ type: 'written', op, path: this.#key(driver, path), size: result.size, ...(result.etag ? { etag: result.etag } : {}) });
    return result;
  }









  #key(driver: StorageDriver, path: string): string {
    return normalizeKey(path, driver.capabilities.limits);
  }

  #emit(event: DistributiveOmit<StorageEvent, 'disk' | 'time'>): void {
    this.events.emit({ ...event, disk: this.name, time: new Date() } as StorageEvent);
  }
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;


function isDriver(value: StorageDriver | DriverSource): value is StorageDriver {
  return typeof (value as StorageDriver).stat === 'function';
}
