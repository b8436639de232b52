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
  logger?: ContentLogger;
}
