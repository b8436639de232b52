import type { Readable } from 'node:stream';
import type { KeyLimits } from '../core/paths.js';

/** Public files may be served by `url()`; private ones only by signed URLs. */
export type Visibility = 'public' | 'private';

/** What a path names. */
export type EntryType = 'file' | 'directory';

/** A content checksum and the algorithm that produced it. */
export interface Checksum {
  algorithm: 'md5' | 'sha256';
  /** Lower-case hex digest. */
  hex: string;
}

/**
 * What the backend knows of one path. For directories, size is 0 and only
 * `path`, `type` and (where the backend has it) `lastModified` are meaningful.
 */
export interface FileStat {
  /** Normalized, root-relative key: no leading or trailing slash. */
  path: string;
  type: EntryType;
  /** Bytes; 0 for directories. */
  size: number;
  /** Last modification as the backend reports it (epoch 0 when unknown). */
  lastModified: Date;
  /** Remote version token (ETag, generation, FTP size+mtime); changes on overwrite. */
  etag?: string;
  /** Stored Content-Type, or one guessed from the extension. */
  mimeType?: string;
  /** Present when the backend reports it on stat without reading the content. */
  visibility?: Visibility;
  /** User metadata stored with the object (lower-case keys), where supported. */
  metadata?: Record<string, string>;
}

/** One page of a listing; `cursor` is absent on the last page. */
export interface ListPage {
  entries: FileStat[];
  /** Opaque token: pass it back to `list` to get the next page. */
  cursor?: string;
}

/** Options of `list`. */
export interface ListOptions {
  /** false: the folder's files and immediate subfolders; true: everything below. */
  recursive: boolean;
  /** Cursor from the previous page. */
  cursor?: string;
  /**
   * Entries to ask the backend for per page: a hint, not a bound. A page may
   * hold fewer; an object store's page may hold a few more (the folders its
   * keys imply, or servers counting files and folders apart).
   */
  pageSize?: number;
}

/** A byte range: `length` omitted reads to the end. */
export interface ByteRange {
  offset: number;
  length?: number;
}

/** Options of `read`. */
export interface ReadOptions {
  /** Omitted: the whole file. Past the end is clamped (possibly to zero bytes). */
  range?: ByteRange;
  signal?: AbortSignal;
}

/** Options of `write` and `createDirectory` (`copy` takes CopyOptions). */
export interface WriteOptions {
  visibility?: Visibility;
  /** Content-Type to store; drivers guess from the extension when absent. */
  mimeType?: string;
  /** User metadata (string keys and values), where `capabilities.metadata`. */
  metadata?: Record<string, string>;
  /** Size hint in bytes, when the caller knows it (helps multipart sizing). */
  size?: number;
  signal?: AbortSignal;
}

/** Options of `copy`. */
export interface CopyOptions {
  /** User metadata of the copy (string keys and values), replacing the source's; where `capabilities.metadata`. */
  metadata?: Record<string, string>;
  /** Aborts the copy where the backend allows it (ECANCELED). */
  signal?: AbortSignal;
}

/** What a completed write reports. */
export interface WriteResult {
  /** Bytes stored. */
  size: number;
  /** New remote version token, when the backend returns one. */
  etag?: string;
}

/** Options of `temporaryUrl` / `temporaryUploadUrl`. */
export interface TemporaryUrlOptions {
  /** Lifetime in seconds (1..604800). */
  expiresIn: number;
  /** Content-Type the upload must carry (upload URLs). */
  mimeType?: string;
}

/**
 * What a driver can do. The conformance suite skips exactly the cases whose
 * capability is false, and reports each skip.
 */
export interface DriverCapabilities {
  /** Empty directories exist on their own (real dirs or marker objects). */
  emptyDirectories: boolean;
  /** Per-file public/private visibility can be set and read back. */
  visibility: boolean;
  /** User metadata round-trips through write/stat. */
  metadata: boolean;
  /** `url()` gives a URL that serves public files over HTTP. */
  publicUrl: boolean;
  /** `temporaryUrl()` gives an expiring URL (native or HMAC-signed). */
  temporaryUrl: boolean;
  /** The server refuses a temporary URL after it expires. */
  temporaryUrlExpiryEnforced: boolean;
  /** The server refuses a temporary URL whose signature or path was altered. */
  temporaryUrlSignatureEnforced: boolean;
  /** `temporaryUploadUrl()` gives an expiring PUT URL. */
  temporaryUploadUrl: boolean;
  /** The checksum `checksum()` returns without reading the content ('md5'), or null when it hashes the bytes. */
  nativeChecksum: 'md5' | 'sha256' | null;
  /** Copy happens on the server, without the bytes passing through us. */
  serverSideCopy: boolean;
  /** The driver's data lives inside this process (memory driver). */
  inProcess: boolean;
  /** Key length limits; paths beyond them fail with ENAMETOOLONG. */
  limits: KeyLimits;
  /** Granularity of lastModified, in milliseconds (FTP LIST: 60000). */
  mtimeResolutionMs: number;
}

/**
 * The contract every backend implements. All paths are given as the user
 * typed them; a driver normalizes them with core's normalizeKey (rejecting bad
 * paths with EINVAL before any I/O) and answers in normalized keys. Every
 * rejection is an FsError; vendor errors never leak. Nothing buffers a whole
 * file: reads and writes stream. All operations are safe to retry.
 */
export interface StorageDriver {
  /** The driver's name in config (local, s3, gcs, azure, ftp, memory). */
  readonly name: string;
  readonly capabilities: DriverCapabilities;

  /** Stat a file or directory. ENOENT when neither exists. */
  stat(path: string): Promise<FileStat>;

  /**
   * One page of a folder's listing. Shallow: the folder's files and immediate
   * subfolders; recursive: every file and every folder below it, each once
   * across all pages. Listing a missing folder gives an empty page; listing a
   * file is ENOTDIR.
   */
  list(dir: string, options: ListOptions): Promise<ListPage>;

  /**
   * Open a read stream. Resolves once the backend has answered, so a missing
   * file rejects here (ENOENT; EISDIR for a directory) rather than on the stream.
   */
  read(path: string, options?: ReadOptions): Promise<Readable>;

  /**
   * Store `body` at `path`, replacing any file there, creating parent
   * directories as needed. Resolves only when the backend holds every byte;
   * an object is never left half-written under its final name.
   */
  write(path: string, body: Readable | Uint8Array, options?: WriteOptions): Promise<WriteResult>;

  /** Delete a file. A missing file is success. A directory: EISDIR where the backend can tell. */
  delete(path: string): Promise<void>;

  /** Create a directory (and its parents). Idempotent. */
  createDirectory(path: string, options?: WriteOptions): Promise<void>;

  /** Delete a directory and everything below it. A missing directory is success. */
  deleteDirectory(path: string): Promise<void>;

  /**
   * Copy a file; the destination is replaced and keeps the source's content
   * type and visibility. Its user metadata is the source's, or exactly
   * `options.metadata` when given (drivers without `capabilities.metadata`
   * ignore it); with metadata, a copy onto itself replaces the file's
   * metadata. ENOENT for a missing source; ECANCELED once `options.signal`
   * aborted (a copy the backend already finished may still complete).
   */
  copy(from: string, to: string, options?: CopyOptions): Promise<void>;

  /** Move a file; no source remains. Moving onto itself changes nothing. ENOENT for a missing source. */
  move(from: string, to: string): Promise<void>;

  /** Set a file's visibility. ENOENT for a missing file; ENOTSUP without the capability. */
  setVisibility(path: string, visibility: Visibility): Promise<void>;

  /** Read a file's visibility. ENOENT for a missing file; ENOTSUP without the capability. */
  getVisibility(path: string): Promise<Visibility>;

  /** A content checksum: the native one where `nativeChecksum` says so, else sha256 of the bytes. */
  checksum(path: string): Promise<Checksum>;

  /** A public URL for the file (no I/O). ENOTSUP without `publicUrl`. */
  url(path: string): string;

  /** An expiring GET URL. ENOTSUP without `temporaryUrl`. */
  temporaryUrl(path: string, options: TemporaryUrlOptions): Promise<string>;

  /** An expiring PUT URL. ENOTSUP without `temporaryUploadUrl`. */
  temporaryUploadUrl(path: string, options: TemporaryUrlOptions): Promise<string>;

  /** Release connections and timers. The driver is unusable afterwards. */
  close(): Promise<void>;
}
