import type { Readable } from 'node:stream';
import { FsError, isFsError } from '../core/errors.js';
import { normalizeDirectory } from '../core/paths.js';
import type { ByteRange, Checksum, DriverCapabilities, FileStat, StorageDriver, Visibility } from '../drivers/types.js';
import { Listing, directoryPaths, everyEntry, filePaths } from './disk-listing.js';
import { hashStream, orNullIfMissing, readToBuffer } from './disk-read.js';
import type { DriverSource } from './driver-source.js';
import { assertCount, assertDirectoryEmpty, assertExists, assertMissing, type CountOptions } from './fake-assertions.js';

/** What metadata() answers: the backend's stat, with user metadata always present ({} when none). */
export type DiskMetadata = FileStat & { metadata: Record<string, string> };

/**
 * The reading half of a Disk (reads, existence, metadata, listings, URLs,
 * test assertions); Disk adds writes and events. See Disk for the contract,
 * and `Missing` (null for an orNull() view, else never).
 */
export class DiskReader<Missing extends null = never> {
  /** The disk's name (config key, or the name given to build/fake). */
  readonly name: string;

  /** `missingAsNull`: reads of a missing file answer null instead of rejecting with ENOENT. */
  constructor(
    protected readonly source: DriverSource,
    name: string,
    protected readonly listPageSize: number,
    protected readonly missingAsNull: boolean,
  ) {
    this.name = name;
  }

  /** The driver behind the disk (built on first call). */
  driver(): Promise<StorageDriver> {
    return this.source.get();
  }

  /** What the backend can do (visibility, metadata, URLs...). */
  async capabilities(): Promise<DriverCapabilities> {
    return (await this.driver()).capabilities;
  }

  // ---- reading ----

  /** The whole file in memory. Use readStream() for large files. */
  async get(path: string): Promise<Buffer | Missing> {
    return this.nullIfMissing(async () => readToBuffer(await (await this.driver()).read(path)));
  }

  /** The whole file decoded as text (UTF-8 by default). */
  async getText(path: string, encoding: BufferEncoding = 'utf8'): Promise<string | Missing> {
    return this.nullIfMissing(async () => (await readToBuffer(await (await this.driver()).read(path))).toString(encoding));
  }

  /** A stream of the file, or of `range` of it. Resolves once the backend answered: a missing file rejects here. */
  async readStream(path: string, range?: ByteRange): Promise<Readable | Missing> {
    return this.nullIfMissing(async () => (await this.driver()).read(path, range === undefined ? {} : { range }));
  }

  /** True when a file or a directory exists at `path` (Laravel's exists). */
  async exists(path: string): Promise<boolean> {
    return (await this.statOrNull(path)) !== null;
  }

  /** True when `path` does not exist (neither a file nor a directory). */
  async missing(path: string): Promise<boolean> {
    return !(await this.exists(path));
  }

  /** True when a file (not a directory) exists at `path`. */
  async fileExists(path: string): Promise<boolean> {
    return (await this.statOrNull(path))?.type === 'file';
  }

  /** True when a directory exists at `path` ('' is the root, which always exists). */
  async directoryExists(path: string): Promise<boolean> {
    if (normalizeDirectory(path, (await this.driver()).capabilities.limits) === '') return true;
    return (await this.statOrNull(path))?.type === 'directory';
  }

  /** Size in bytes; EISDIR for a directory. */
  async size(path: string): Promise<number | Missing> {
    return this.nullIfMissing(async () => (await this.fileStat(path, 'size')).size);
  }

  /** Last modification time (a directory's where the backend has one). */
  async lastModified(path: string): Promise<Date | Missing> {
    return this.nullIfMissing(async () => (await (await this.driver()).stat(path)).lastModified);
  }

  /** The stored Content-Type (or one guessed from the extension); EISDIR for a directory. */
  async mimeType(path: string): Promise<string | Missing> {
    return this.nullIfMissing(async () => (await this.fileStat(path, 'mimeType')).mimeType ?? 'application/octet-stream');
  }

  /**
   * A content checksum: the backend's native one (md5 on S3-like stores,
   * sha256 where it hashes), or with `algorithm` exactly that one, hashing the
   * bytes when the backend's differs.
   */
  async checksum(path: string, options: { algorithm?: Checksum['algorithm'] } = {}): Promise<Checksum | Missing> {
    return this.nullIfMissing(async () => {
      const driver = await this.driver();
      const native = await driver.checksum(path);
      if (options.algorithm === undefined || native.algorithm === options.algorithm) return native;
      return hashStream(await driver.read(path), options.algorithm);
    });
  }

  /** Everything the backend knows of a file or directory: size, lastModified, mimeType, etag, visibility (when the stat has it), user metadata. */
  async metadata(path: string): Promise<DiskMetadata | Missing> {
    return this.nullIfMissing(async () => {
      const stat = await (await this.driver()).stat(path);
      return { ...stat, metadata: stat.metadata ?? {} };
    });
  }

  /** 'public' or 'private' (ENOTSUP where the backend has no visibility). */
  async getVisibility(path: string): Promise<Visibility | Missing> {
    return this.nullIfMissing(async () => (await this.driver()).getVisibility(path));
  }

  // ---- listing (see Listing: `await` for an array, `for await` to page lazily) ----

  /** Files directly in `dir` (default: the root). */
  files(dir = ''): Listing<string> {
    return this.listing(dir, false, filePaths);
  }

  /** Files in `dir` and every folder below it. */
  allFiles(dir = ''): Listing<string> {
    return this.listing(dir, true, filePaths);
  }

  /** Folders directly in `dir`. */
  directories(dir = ''): Listing<string> {
    return this.listing(dir, false, directoryPaths);
  }

  /** Every folder below `dir`. */
  allDirectories(dir = ''): Listing<string> {
    return this.listing(dir, true, directoryPaths);
  }

  /** Files and folders of `dir` with their stats (recursive: everything below). */
  list(dir = '', options: { recursive?: boolean } = {}): Listing<FileStat> {
    return this.listing(dir, options.recursive ?? false, everyEntry);
  }

  // ---- URLs ----

  /** The public URL of a file (ENOTSUP when the disk has none). */
  async url(path: string): Promise<string> {
    return (await this.driver()).url(path);
  }

  /** An expiring GET URL; `expiration` is a lifetime in seconds or a Date (at most 7 days ahead). */
  async temporaryUrl(path: string, expiration: number | Date): Promise<string> {
    return (await this.driver()).temporaryUrl(path, { expiresIn: lifetime(path, expiration, 'temporaryUrl') });
  }

  /** An expiring PUT URL a client can upload to; `mimeType` is the Content-Type the upload must carry. */
  async temporaryUploadUrl(path: string, expiration: number | Date, options: { mimeType?: string } = {}): Promise<string> {
    const expiresIn = lifetime(path, expiration, 'temporaryUploadUrl');
    return (await this.driver()).temporaryUploadUrl(path, { expiresIn, ...options });
  }

  // ---- assertions (for tests, on any disk; see fake-assertions.ts) ----

  /** Rejects with node's AssertionError unless every path exists (with exactly `content`, when given). */
  assertExists(paths: string | string[], content?: string | Uint8Array): Promise<void> {
    return assertExists(this, paths, content);
  }

  /** Rejects with AssertionError if any of the paths exists. */
  assertMissing(paths: string | string[]): Promise<void> {
    return assertMissing(this, paths);
  }

  /** Rejects with AssertionError unless `dir` holds exactly `count` files (recursive: counting those below). */
  assertCount(dir: string, count: number, options: CountOptions = {}): Promise<void> {
    return assertCount(this, dir, count, options);
  }

  /** Rejects with AssertionError if any file lies in `dir` or below it. */
  assertDirectoryEmpty(dir: string): Promise<void> {
    return assertDirectoryEmpty(this, dir);
  }


  /** A Listing of `dir` keeping what `pick` maps (see Listing). */
  protected listing<T>(dir: string, recursive: boolean, pick: (entry: FileStat) => T | undefined): Listing<T> {
    return new Listing(() => this.driver(), { dir, recursive, pageSize: this.listPageSize, pick });
  }

  /** The stat of a file; EISDIR for a directory. */
  protected async fileStat(path: string, op: string): Promise<FileStat> {
    const stat = await (await this.driver()).stat(path);
    if (stat.type === 'directory') throw new FsError('EISDIR', `${op} '${path}': is a directory`, { path, op });
    return stat;
  }

  /** The stat, or null when nothing (or a file in the way: ENOTDIR) is at `path`. */
  protected async statOrNull(path: string): Promise<FileStat | null> {
    try {
      return await (await this.driver()).stat(path);
    } catch (err) {
      if (isFsError(err, 'ENOENT', 'ENOTDIR')) return null;
      throw err;
    }
  }

  /** Runs a read; an orNull view turns its ENOENT into null. */
  protected nullIfMissing<T>(action: () => Promise<T>): Promise<T | Missing> {
    return orNullIfMissing(this.missingAsNull, action) as Promise<T | Missing>;
  }
}

/** Seconds from now to `expiration` (a lifetime in seconds, or a Date), checked to be positive. */
function lifetime(path: string, expiration: number | Date, op: string): number {
  const seconds = expiration instanceof Date ? Math.ceil((expiration.getTime() - Date.now()) / 1000) : expiration;
  if (typeof seconds !== 'number' || !Number.isFinite(seconds) || seconds < 1) {
    const given = expiration instanceof Date ? expiration.toISOString() : String(expiration);
    throw new FsError('EINVAL', `${op} '${path}': the expiration must be at least 1 second ahead, got ${given}`, { path, op });
  }
  return seconds;
}
