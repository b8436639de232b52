/**
 * The local block cache of one mounted disk: content-addressed blocks of
 * clean (backend-backed) data, and working files holding dirty data of files
 * being written. Dirty data lives only in working files, which are never
 * evicted; blocks can always be fetched again, so any of them may be evicted.
 */

/** Content-addressed block store on the cache disk (sha256 hex keys). */
export interface BlockStore {
  /** Largest block, in bytes (file content is cut at multiples of it). */
  readonly blockSize: number;
  /** True when the block is on disk. */
  has(hash: string): boolean;
  /** Bytes [offset, offset + length) of a stored block (short at its end). ENOENT when evicted. */
  read(hash: string, offset: number, length: number): Promise<Buffer>;
  /** Stores `data` (at most blockSize bytes) and returns its sha256 hex. Identical content is stored once. */
  put(data: Buffer): Promise<string>;
  /** Records a use (for least-recently-used eviction). */
  touch(hash: string): void;
  /** Bytes and blocks currently stored. */
  usage(): { bytes: number; blocks: number };
  /** Evicts clean blocks in the background when the store is over its share of the cache limit (cheap when it is not). */
  enforceLimit(): void;
  /** Evicts least-recently-used blocks until at most `targetBytes` remain; returns bytes freed. */
  evict(targetBytes: number): Promise<number>;
  close(): void;
}

/**
 * The local copy of a file being written: a sparse file on the cache disk
 * plus the set of byte ranges it holds. Ranges it does not hold still come
 * from the clean content (blocks or backend). Survives restarts (issue 4
 * builds crash recovery on it).
 */
export interface WorkingFile {
  /** Logical file size (writes past it and truncate change it). */
  readonly size: number;
  /** Writes `data` at `offset`; the range becomes held. */
  write(offset: number, data: Buffer): Promise<void>;
  /** Reads held bytes; the caller must only ask for held ranges (see missing). */
  read(offset: number, length: number): Promise<Buffer>;
  /** Sets the size; bytes past a shrink are dropped, an extension reads as zeros and counts as held. */
  truncate(size: number): Promise<void>;
  /** Sub-ranges of [offset, offset + length) that are not held, in order. */
  missing(offset: number, length: number): Array<{ offset: number; length: number }>;
  /** Makes written data durable on the cache disk (fsync). */
  sync(): Promise<void>;
  /** Local bytes in use (held ranges). */
  readonly bytesHeld: number;
  close(): Promise<void>;
}

/** Working files by inode, in one folder of the cache disk. */
export interface WorkingFiles {
  /** Opens (or creates, with `initialSize` bytes none of which are held) the working file of an inode. */
  open(ino: number, initialSize: number): Promise<WorkingFile>;
  /** True when the inode has a working file. */
  exists(ino: number): boolean;
  /** Deletes an inode's working file (after its content is committed or the file deleted). */
  remove(ino: number): Promise<void>;
  /** Inodes with a working file (for recovery after a restart). */
  list(): number[];
  /** Bytes the working file of `ino` holds (an open one's current count, else as of its last sync); 0 without one. */
  heldBytes(ino: number): number;
}
