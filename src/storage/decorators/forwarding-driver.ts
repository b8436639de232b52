import type { Readable } from 'node:stream';
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

/**
 * The base of a decorator (a driver wrapping a driver): a decorator overrides
 * what it changes; everything else reaches the inner driver unchanged (same
 * arguments, same answer, same errors). The subclass gives its own `name` and
 * `capabilities` to the constructor. A decorator owns its inner driver:
 * close() closes it.
 */
export abstract class ForwardingDriver implements StorageDriver {
  protected constructor(
    /** The wrapped driver, owned by this one. */
    protected readonly inner: StorageDriver,
    readonly name: string,
    readonly capabilities: DriverCapabilities,
  ) {}

  stat(path: string): Promise<FileStat> {
    return this.inner.stat(path);
  }

  list(dir: string, options: ListOptions): Promise<ListPage> {
    return this.inner.list(dir, options);
  }

  read(path: string, options?: ReadOptions): Promise<Readable> {
    return this.inner.read(path, options);
  }

  write(path: string, body: Readable | Uint8Array, options?: WriteOptions): Promise<WriteResult> {
    return this.inner.write(path, body, options);
  }

  delete(path: string): Promise<void> {
    return this.inner.delete(path);
  }

  createDirectory(path: string, options?: WriteOptions): Promise<void> {
    return this.inner.createDirectory(path, options);
  }

  deleteDirectory(path: string): Promise<void> {
    return this.inner.deleteDirectory(path);
  }

  copy(from: string, to: string, options?: CopyOptions): Promise<void> {
    return this.inner.copy(from, to, options);
  }

  move(from: string, to: string): Promise<void> {
    return this.inner.move(from, to);
  }

  setVisibility(path: string, visibility: Visibility): Promise<void> {
    return this.inner.setVisibility(path, visibility);
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

  temporaryUploadUrl(path: string, options: TemporaryUrlOptions): Promise<string> {
    return this.inner.temporaryUploadUrl(path, options);
  }

  async close(): Promise<void> {
    await this.inner.close();
  }
}
