import type { Readable } from 'node:stream';
import { FsError } from '../../core/errors.js';
import { isWithin, joinKey, normalizeDirectory, normalizeKey, type KeyLimits } from '../../core/paths.js';
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
} from '../../drivers/types.js';

/** Options of createScopedDriver. */
export interface ScopedOptions {
  /**
   * The folder of the inner driver every key lives under, e.g. 'tenants/42'.
   * Normalized like a directory ('tenants/42/' is the same); it must name a
   * folder: '', '.', '/', absolute paths and '..' that climbs out are EINVAL
   * (an empty prefix would silently give a "tenant" the whole disk).
   */
  prefix: string;
}

/**
 * A driver that confines another to one folder, for tenants: every path is
 * normalized (EINVAL/ENAMETOOLONG before any I/O, against the key limits that
 * remain once the prefix is added) and then placed under the prefix; every
 * answer (stat, listings, error paths) is relative to the prefix again, so a
 * scoped driver can neither reach nor reveal a key outside its folder.
 * Listing cursors are the inner driver's, passed through unchanged: a cursor
 * only continues a listing of the (prefixed) folder it was asked for.
 * `deleteDirectory('')` empties the scope (and removes its folder) only.
 */
export class ScopedDriver implements StorageDriver {
  readonly name: string;
  readonly capabilities: DriverCapabilities;
  /** The normalized prefix, without a trailing slash. */
  readonly prefix: string;
  private readonly prefixInMessages: RegExp;

  constructor(
    private readonly inner: StorageDriver,
    options: ScopedOptions,
  ) {
    this.prefix = validatePrefix(options.prefix, inner.capabilities.limits);
    this.prefixInMessages = new RegExp(`(?<=^|['"\\s])${escapeRegExp(this.prefix)}/`, 'g');
    this.name = `scoped(${inner.name})`;
    this.capabilities = { ...inner.capabilities, limits: scopedLimits(inner.capabilities.limits, this.prefix) };
  }

  async stat(path: string): Promise<FileStat> {
    const key = this.fileKey(path);
    return this.outward(await this.call(() => this.inner.stat(key)));
  }

  async list(dir: string, options: ListOptions): Promise<ListPage> {
    const key = this.dirKey(dir);
    const page = await this.call(() => this.inner.list(key, options));
    // Entries outside the scope (or the scope folder itself) are never shown, whatever the inner answered.
    const entries = page.entries.filter((entry) => isWithin(entry.path, this.prefix) && entry.path !== this.prefix).map((entry) => this.outward(entry));
    return page.cursor === undefined ? { entries } : { entries, cursor: page.cursor };
  }

  async read(path: string, options?: ReadOptions): Promise<Readable> {
    const key = this.fileKey(path);
    return this.call(() => this.inner.read(key, options));
  }

  async write(path: string, body: Readable | Uint8Array, options?: WriteOptions): Promise<WriteResult> {
    let key: string;
    try {
      key = this.fileKey(path);
    } catch (err) {
      // Refused before reading: release the caller's stream rather than leave it hanging.
      if (!(body instanceof Uint8Array)) body.destroy();
      throw err;
    }
    return this.call(() => this.inner.write(key, body, options));
  }

  async delete(path: string): Promise<void> {
    const key = this.fileKey(path);
    await this.call(() => this.inner.delete(key));
  }

  async createDirectory(path: string, options?: WriteOptions): Promise<void> {
    const key = this.dirKey(path);
    await this.call(() => this.inner.createDirectory(key, options));
  }

  async deleteDirectory(path: string): Promise<void> {
    const key = this.dirKey(path);
    await this.call(() => this.inner.deleteDirectory(key));
  }

  async copy(from: string, to: string, options?: CopyOptions): Promise<void> {
    const source = this.fileKey(from);
    const target = this.fileKey(to);
    await this.call(() => this.inner.copy(source, target, options));
  }

  async move(from: string, to: string): Promise<void> {
    const source = this.fileKey(from);
    const target = this.fileKey(to);
    await this.call(() => this.inner.move(source, target));
  }

  async setVisibility(path: string, visibility: Visibility): Promise<void> {
    const key = this.fileKey(path);
    await this.call(() => this.inner.setVisibility(key, visibility));
  }

  async getVisibility(path: string): Promise<Visibility> {
    const key = this.fileKey(path);
    return this.call(() => this.inner.getVisibility(key));
  }

  async checksum(path: string): Promise<Checksum> {
    const key = this.fileKey(path);
    return this.call(() => this.inner.checksum(key));
  }

  url(path: string): string {
    const key = this.fileKey(path);
    try {
      return this.inner.url(key);
    } catch (err) {
      throw this.scopedError(err);
    }
  }

  async temporaryUrl(path: string, options: TemporaryUrlOptions): Promise<string> {
    const key = this.fileKey(path);
    return this.call(() => this.inner.temporaryUrl(key, options));
  }

  async temporaryUploadUrl(path: string, options: TemporaryUrlOptions): Promise<string> {
    const key = this.fileKey(path);
    return this.call(() => this.inner.temporaryUploadUrl(key, options));
  }

  async close(): Promise<void> {
    await this.inner.close();
  }

  /** The inner key of a file path (EINVAL/ENAMETOOLONG before any I/O). */
  private fileKey(path: string): string {
    return joinKey(this.prefix, normalizeKey(path, this.capabilities.limits));
  }

  /** The inner key of a directory path; '' is the scope's own folder. */
  private dirKey(path: string): string {
    return joinKey(this.prefix, normalizeDirectory(path, this.capabilities.limits));
  }

  /** A stat or listing entry with its path made scope-relative. */
  private outward(entry: FileStat): FileStat {
    return { ...entry, path: this.relative(entry.path) };
  }

  private relative(innerKey: string): string {
    return innerKey.startsWith(`${this.prefix}/`) ? innerKey.slice(this.prefix.length + 1) : innerKey;
  }

  /** Runs an inner call, turning its FsErrors' paths and messages scope-relative. */
  private async call<T>(action: () => Promise<T>): Promise<T> {
    try {
      return await action();
    } catch (err) {
      throw this.scopedError(err);
    }
  }

  private scopedError(err: unknown): unknown {
    if (!(err instanceof FsError)) return err;
    // Only a prefix that starts a quoted or spaced path is removed, never a look-alike inside a word.
    const message = err.message.replace(this.prefixInMessages, '');
    const path = err.path === undefined ? undefined : this.relative(err.path);
    if (message === err.message && path === err.path) return err;
    return new FsError(err.code, message, { ...(path !== undefined ? { path } : {}), ...(err.op !== undefined ? { op: err.op } : {}), cause: err });
  }
}

/**
 * Wraps `inner` so every key lives under `options.prefix` (see ScopedDriver).
 * Throws FsError EINVAL for a prefix that is empty, absolute, climbs out with
 * '..' or contains a NUL byte, and ENAMETOOLONG when it leaves no room for keys.
 * The scoped driver owns `inner`: close() closes it.
 */
export function createScopedDriver(inner: StorageDriver, options: ScopedOptions): StorageDriver {
  return new ScopedDriver(inner, options);
}

function validatePrefix(prefix: string, limits: KeyLimits): string {
  const normalized = normalizeDirectory(prefix, limits);
  if (normalized === '') {
    throw new FsError('EINVAL', `scoped disk: prefix '${prefix}' names the root; give the folder the scope lives in`, { path: prefix, op: 'config' });
  }
  if (Buffer.byteLength(normalized) + 2 > limits.maxKeyBytes) {
    throw new FsError('ENAMETOOLONG', `scoped disk: prefix '${prefix.slice(0, 80)}' leaves no room for keys under the ${limits.maxKeyBytes}-byte key limit`, {
      path: prefix,
      op: 'config',
    });
  }
  return normalized;
}

/** The inner limits minus what the prefix and its '/' take from every key. */
function scopedLimits(limits: KeyLimits, prefix: string): KeyLimits {
  return { maxNameBytes: limits.maxNameBytes, maxKeyBytes: limits.maxKeyBytes - Buffer.byteLength(prefix) - 1 };
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
