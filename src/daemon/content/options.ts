import type { BlockStore, WorkingFiles } from '../cache/types.js';
import type { MetadataIndex } from '../meta/types.js';
import type { StorageDriver } from '../../drivers/types.js';

/** The log calls the content layer makes (a pino Logger fits). */
export interface ContentLogger {
  debug(details: object, message: string): void;
  warn(details: object, message: string): void;
}

/** A logger that drops everything (when none is given). */
export const SILENT_LOGGER: ContentLogger = {
  debug: () => undefined,
  warn: () => undefined,
};

/** What createContentManager needs for one mounted disk. */
export interface ContentManagerOptions {
  /** The disk's backend. */
  driver: StorageDriver;
  /** The disk's metadata index; only its block map (and transaction) is used. */
  index: MetadataIndex;
  /** Clean blocks; the manager owns it and closes it in close(). */
  blocks: BlockStore;
  /** Dirty data of files being written. */
  working: WorkingFiles;
  /** Bytes per block (config.mount.blockSize); at most blocks.blockSize. */
  blockSize: number;
  /** Bytes to prefetch ahead of sequential reads (config.mount.readAhead); 0 disables read-ahead. */
  readAhead: number;
  /** Ranged requests in flight per file for read-ahead, and per read or commit for its own blocks. */
  fetchConcurrency: number;
  /** Most bytes working files may hold in all (dirty data); writes past it fail ENOSPC. 0 or absent: no limit. */
  dirtyLimit?: number;
  /** A folder on the cache disk: writes that would leave it with less than a small headroom free fail ENOSPC. */
  cacheDir?: string;
  logger?: ContentLogger;
  /**
   * Turns the working file of an inode into a clean block by moving it into
   * the block store (BlockCache.promote): a commit of a file that fits in one
   * block and is held whole by its working file uses it instead of a put and
   * a remove. The working file is gone afterwards; false when the block was
   * not stored (the commit then puts it). Optional: without it, every commit
   * puts its blocks.
   */
  promoteWorkingFile?: (ino: number, hash: string, size: number) => Promise<boolean>;
}
