import type { Readable } from 'node:stream';
import type { FsError } from '../../core/errors.js';
import type { CopyOptions, DriverCapabilities, Visibility } from '../types.js';

/** One object as the store reports it. Keys are full bucket keys (prefix included). */
export interface ObjectInfo {
  key: string;
  size: number;
  lastModified: Date;
  /** Version token: ETag (s3, azure) or generation (gcs). */
  etag?: string;
  /** Lower-case hex MD5 of the content when the store knows it (not for multipart ETags). */
  md5?: string;
  mimeType?: string;
  metadata?: Record<string, string>;
  visibility?: Visibility;
}

/** One page of a prefix listing, keys in the store's (lexicographic) order. */
export interface ObjectListing {
  objects: ObjectInfo[];
  /** With a delimiter: the folded prefixes, each ending in the delimiter. */
  commonPrefixes: string[];
  /** Continuation token; absent on the last page. */
  next?: string;
}

/** Options of ObjectStoreAdapter.put. */
export interface PutOptions {
  mimeType: string;
  metadata?: Record<string, string>;
  visibility?: Visibility;
  size?: number;
  signal?: AbortSignal;
}

/**
 * The vendor-specific half of an object-store driver (s3, gcs, azure): a
 * thin layer over one SDK, keyed by full bucket keys. ObjectStoreDriver
 * builds the StorageDriver contract (paths, directories, listing, copy/move)
 * on top of it, so the directory emulation exists once for all three.
 * Adapters may throw vendor errors; ObjectStoreDriver passes every error
 * through `mapError`, which must return an FsError with the right code.
 */
export interface ObjectStoreAdapter {
  /** Driver name (s3, gcs, azure). */
  readonly name: string;
  /** What differs from BASE_CAPABILITIES. */
  readonly capabilities: Partial<DriverCapabilities>;

  /** The object's info, or null when no object has exactly this key. */
  head(key: string): Promise<ObjectInfo | null>;

  /** A page of objects whose keys start with `prefix`; with a delimiter, folded at it. */
  list(prefix: string, options: { delimiter?: string; continuation?: string; maxKeys: number }): Promise<ObjectListing>;

  /**
   * A stream of the object's bytes, or of `range` (already clamped to the
   * object by the caller when it knows the size; a range starting at or past
   * the end must give an empty stream, not an error). Rejects ENOENT for a
   * missing key.
   */
  get(key: string, range: { offset: number; length?: number } | undefined, signal?: AbortSignal): Promise<Readable>;

  /** Stores the stream under `key` atomically (multipart/resumable for large bodies). */
  put(key: string, body: Readable, options: PutOptions): Promise<{ etag?: string }>;

  /** Deletes the keys; missing keys are fine. Batches as the store allows. */
  deleteMany(keys: string[]): Promise<void>;

  /**
   * Server-side copy, replacing `to`, keeping content type and visibility,
   * and the source's user metadata unless `options.metadata` is given: then
   * the copy's metadata is exactly it (also when `from === to`: the object's
   * metadata is replaced in place). `options.signal` aborts the requests.
   * ENOENT for a missing source.
   */
  copy(from: string, to: string, options?: CopyOptions): Promise<void>;

  /** Per-object visibility (only when capabilities.visibility). */
  setVisibility?(key: string, visibility: Visibility): Promise<void>;
  getVisibility?(key: string): Promise<Visibility>;

  /** The store's own public URL of an object (no I/O). */
  publicUrl?(key: string): string;

  /** A native presigned URL (only when capabilities.temporaryUrl / temporaryUploadUrl). */
  presign?(key: string, method: 'GET' | 'PUT', expiresIn: number, mimeType?: string): Promise<string>;

  /** Vendor error to FsError; `key` and `op` go into the message. */
  mapError(err: unknown, key: string, op: string): FsError;

  close(): Promise<void>;
}
