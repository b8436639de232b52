import type { Readable } from 'node:stream';
import { FsError } from '../../core/errors.js';
import { normalizeDirectory, normalizeKey } from '../../core/paths.js';
import type { StorageDriver, WriteResult } from '../../drivers/types.js';
import { ForwardingDriver } from './forwarding-driver.js';

/**
 * A driver that lets reads through and refuses every change: write, delete,
 * createDirectory, deleteDirectory, copy, move, setVisibility and
 * temporaryUploadUrl reject with EROFS naming the path, before any I/O (the
 * inner driver is never called). A path that is itself invalid is EINVAL
 * first, the same answer every driver gives for bad input. stat, list, read,
 * getVisibility, checksum, url and temporaryUrl pass through unchanged.
 * Capabilities are the inner driver's, except temporaryUploadUrl (false).
 */
export class ReadOnlyDriver extends ForwardingDriver {
  constructor(inner: StorageDriver) {
    super(inner, `read-only(${inner.name})`, { ...inner.capabilities, temporaryUploadUrl: false });
  }

  override async write(path: string, body: Readable | Uint8Array): Promise<WriteResult> {
    // Refused before reading: release the caller's stream rather than leave it hanging.
    if (!(body instanceof Uint8Array)) body.destroy();
    throw this.refusal('write', this.fileKey(path));
  }

  override async delete(path: string): Promise<void> {
    throw this.refusal('delete', this.fileKey(path));
  }

  override async createDirectory(path: string): Promise<void> {
    throw this.refusal('createDirectory', this.dirKey(path));
  }

  override async deleteDirectory(path: string): Promise<void> {
    throw this.refusal('deleteDirectory', this.dirKey(path));
  }

  override async copy(from: string, to: string): Promise<void> {
    this.fileKey(from);
    throw this.refusal('copy', this.fileKey(to));
  }

  override async move(from: string, to: string): Promise<void> {
    const source = this.fileKey(from);
    this.fileKey(to);
    throw this.refusal('move', source);
  }

  override async setVisibility(path: string): Promise<void> {
    throw this.refusal('setVisibility', this.fileKey(path));
  }

  override async temporaryUploadUrl(path: string): Promise<string> {
    throw this.refusal('temporaryUploadUrl', this.fileKey(path));
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
