import type { Database } from '../db.js';
import { FileBlockStore } from './block-store.js';
import { migrateCacheSchema } from './schema.js';
import { LocalWorkingFiles } from './working-files.js';

/** Settings of a disk's block cache. */
export interface BlockCacheOptions {
  /** Largest block in bytes (config.mount.blockSize). */
  blockSize: number;
  /** Size limit of clean blocks, bytes (config.cache.maxSize); 0 or absent: unlimited. Working files do not count. */
  maxBytes?: number;
}

/** The block cache of one mounted disk. */
export interface BlockCache {
  blocks: FileBlockStore;
  working: LocalWorkingFiles;
  /**
   * Turns the working file of `ino` into the clean block `hash` (the whole
   * content of the file: `size` bytes, at most blockSize, hashing to `hash`)
   * by moving its file into the block store, which saves writing the block
   * and deleting the working file. The working file is gone afterwards
   * either way; false when the store did not take it (the caller then puts
   * the block itself).
   */
  promote(ino: number, hash: string, size: number): Promise<boolean>;
  /** Closes working files (syncing changed ones) and the block store; the database stays open (its owner closes it). */
  close(): Promise<void>;
}

/**
 * Opens the block cache of a disk whose cache folder is `dir`: migrates the
 * cache tables in `db` (the disk's meta.db, see ../db.ts), reads the
 * working-file table and folder, and starts a background sweep of the block
 * folders (crash leftovers; see FileBlockStore.sweep). Synchronous: the few
 * file-system calls it makes happen once, at mount time.
 */
export function openBlockCache(db: Database, dir: string, options: BlockCacheOptions): BlockCache {
  migrateCacheSchema(db);
  const blocks = new FileBlockStore(db, dir, { blockSize: options.blockSize, maxBytes: options.maxBytes ?? 0 });
  const working = new LocalWorkingFiles(db, dir);
  blocks.runInBackground(() => blocks.sweep());
  // The limit may have been lowered since the last mount.
  blocks.enforceLimit();
  return {
    blocks,
    working,
    promote: (ino, hash, size) => working.removeInto(ino, (path) => blocks.adopt(path, hash, size)),
    async close() {
      await working.closeAll();
      blocks.close();
      await blocks.whenIdle();
    },
  };
}
