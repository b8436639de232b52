import type { Readable } from 'node:stream';
import { FsError } from '../../core/errors.js';
import { normalizeDirectory, normalizeKey } from '../../core/paths.js';
import type {
  Checksum,
  DriverCapabilities,
  FileStat,
  ListOptions,
  ListPage,
  ReadOptions,
  StorageDriver,
  TemporaryUrlOptions,
  Visibility,
  WriteResult,
} from '../../drivers/types.js';

/**
 * A driver that lets reads through and refuses every change: write, delete,
 * createDirectory, deleteDirectory, copy, move, setVisibility and
 * temporaryUploadUrl reject with EROFS naming the path, before any I/O (the
 * inner driver is never called). A path that is itself invalid is EINVAL
 * first, the same answer every driver gives for bad input. stat, list, read,
 * getVisibility, checksum, url and temporaryUrl pass through unchanged.
 * Capabilities are the inner driver's, except temporaryUploadUrl (false).
 */
export class ReadOnlyDriver implements StorageDriver {
  readonly name: string;
  readonly capabilities: DriverCapabilities;

  constructor(private readonly inner: StorageDriver) {
    this.name = `read-only(${inner.name})`;
    this.capabilities = { ...inner.capabilities, temporaryUploadUrl: false };
  }

  stat(path: string): Promise<FileStat> {
    return this.inner.stat(path);
  }

  list(dir: string, options: ListOptions): Promise<ListPage> {
    return this.inner.list(dir, options);
  }

  read(path: string, options?: ReadOptions): Promise<Readable> {
    return this.inner.read(path, options);
  }

  async write(path: string, body: Readable | Uint8Array): Promise<WriteResult> {
    // Refused before reading: release the caller's stream rather than leave it hanging.
    if (!(body instanceof Uint8Array)) body.destroy();
    throw this.refusal('write', this.fileKey(path));
  }

  async delete(path: string): Promise<void> {
    throw this.refusal('delete', this.fileKey(path));
  }

  async createDirectory(path: string): Promise<void> {
    throw this.refusal('createDirectory', this.dirKey(path));
  }

  async deleteDirectory(path: string): Promise<void> {
    throw this.refusal('deleteDirectory', this.dirKey(path));
  }

  async copy(from: string, to: string): Promise<void> {
    this.fileKey(from);
    throw this.refusal('copy', this.fileKey(to));
  }

  async move(from: string, to: string): Promise<void> {
    const source = this.fileKey(from);
    this.fileKey(to);
    throw this.refusal('move', source);
  }

  async setVisibility(path: string): Promise<void> {
    throw this.refusal('setVisibility', this.fileKey(path));
  }

  getVisibility(path: string): Promise<Visibility> {
    return this.inner.getVisibility(path);
  }

  checksum(path: string): Promise<Checksum> {
    return this.inner.checksum(path);
  }

  url(path: string): string {
    return this.inner.url(path);
  }

  temporaryUrl(path: string, options: TemporaryUrlOptions): Promise<string> {
    return this.inner.temporaryUrl(path, options);
  }

  async temporaryUploadUrl(path: string): Promise<string> {
    throw this.refusal('temporaryUploadUrl', this.fileKey(path));
  }

  async close(): Promise<void> {
    await this.inner.close();
  }

  private fileKey(path: string): string {
    return normalizeKey(path, this.capabilities.limits);
  }

  private dirKey(path: string): string {
    return normalizeDirectory(path, this.capabilities.limits);
  }

  private refusal(op: string, key: string): FsError {
    return new FsError('EROFS', `${op} '${key}': the disk is read-only`, { path: key, op });
  }
}

/**
 * Wraps `inner` so it can only be read (see ReadOnlyDriver). The read-only
 * driver owns `inner`: close() closes it.
 */
export function createReadOnlyDriver(inner: StorageDriver): StorageDriver {
  return new ReadOnlyDriver(inner);
}
