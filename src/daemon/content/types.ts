import type { Ino } from '../vfs/types.js';
import type { DedupStats } from './dedup.js';

/** Where a file's clean content lives on the backend. */
export interface CleanSource {
  /** Backend key (the node's path). */
  key: string;
  /** Remote version the block map belongs to. */
  etag?: string;
  /** Size of the clean content. */
  size: number;
}

/** What an upload produced. */
export interface Committed {
  etag?: string;
  size: number;
  /** sha256 hex of the whole content. */
  contentHash: string;
  /** Backend lastModified after the upload, ms (the driver's stat, or now). */
  mtimeMs: number;
}

/** Options of FileContent.commit. */
export interface CommitOptions {
  /** Upload even when the content is clean (the metadata changed). */
  force?: boolean;
  /** Aborts the upload: it rejects, the backend keeps its previous version and nothing local changes. */
  signal?: AbortSignal;
  /**
   * Records the new version (the caller's index row) in the same SQLite
   * transaction as the new block map, before the working file is removed:
   * a crash after the upload then finds either the dirty data or the record
   * of its upload, never neither. Not called for clean content that was not
   * uploaded.
   */
  record?: (committed: Committed) => void;
}

/**
 * The content of one regular file, shared by every handle open on it. Reads
 * come from the working file where it holds the range, else from cached
 * blocks, else from the backend (ranged requests, several in parallel, with
 * read-ahead on sequential access; fetched blocks go into the block cache and
 * the index's block map). Writes go to the working file only. Warm reads
 * never touch the network.
 */
export interface FileContent {
  readonly ino: Ino;
  /** Current logical size (dirty size when written). */
  size(): number;
  /**
   * Hex digest (sha256 unless told) of the first `length` bytes of the
   * content (default: all of it) when all of them are local; undefined
   * otherwise, or when `length` exceeds the size (never downloads).
   */
  localHash(length?: number, algorithm?: 'sha256' | 'md5'): Promise<string | undefined>;
  /** True when local changes are not yet on the backend. */
  isDirty(): boolean;
  /** Up to `length` bytes at `offset` (short only at end of file). */
  read(offset: number, length: number): Promise<Buffer>;
  write(offset: number, data: Buffer): Promise<void>;
  truncate(size: number): Promise<void>;
  /** fsync of the working file on the cache disk. */
  syncLocal(): Promise<void>;
  /**
   * Uploads the full content to `key` (missing ranges filled from the clean
   * content), atomically on the backend, with `metadata` (POSIX attributes).
   * Afterwards the content is clean: its blocks are in the cache and the
   * index's block map, and the working file is gone. Clean content is not
   * uploaded (its current version is returned) unless `options.force`: then
   * it is uploaded all the same, streamed from cached blocks and the
   * backend (an attribute-only change, empty files included).
   */
  commit(key: string, metadata: Record<string, string>, options?: CommitOptions): Promise<Committed>;
}

/**
 * Hands out FileContent objects per inode (one per inode while any handle
 * or commit uses it) and owns the block cache, the working files and the
 * fetch machinery for one mounted disk.
 */
export interface ContentManager {
  /** The content of a file whose clean version is `source` (undefined for a file never uploaded). */
  open(ino: Ino, source: CleanSource | undefined): Promise<FileContent>;
  /** Drops the in-memory object when no handle uses it any more (data stays in cache). */
  release(ino: Ino): void;
  /** Discards local data of a deleted file (working file; block refs). */
  discard(ino: Ino): Promise<void>;
  /** The clean version changed on the backend: forget cached blocks of this inode. */
  invalidate(ino: Ino): void;
  /** Cache use, for statfs and status. */
  usage(): { bytes: number; blocks: number; dirtyBytes: number };
  /** What upload deduplication saved since the start. */
  dedupStats(): DedupStats;
  /**
   * Installs the wait a read does when the backend says its object is gone
   * (ENOENT): `relocate` resolves once the inode's renames in flight have
   * moved the object and rebound the content; the read is then tried once
   * more. Without one, such a read fails ENOENT.
   */
  setRelocator(relocate: (ino: Ino) => Promise<void>): void;
  close(): Promise<void>;
}
