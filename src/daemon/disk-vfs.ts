import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FsError } from '../core/errors.js';
import type { StoragedConfig } from '../core/config/loader.js';
import type { Logger } from '../core/logger.js';
import type { StorageDriver } from '../drivers/types.js';
import { openBlockCache } from './cache/block-cache.js';
import { lockCacheDir } from './cache-lock.js';
import type { WorkingFiles } from './cache/types.js';
import { createContentManager } from './content/index.js';
import { openDatabase } from './db.js';
import { openMetadataIndex } from './meta/index.js';
import type { MetadataIndex } from './meta/types.js';
import { nowNs } from './vfs/clock.js';
import { createVfs } from './vfs/vfs.js';
import { DurabilityBarrier } from './durability.js';
import { openJournal } from './writeback/journal.js';
import type { UploadObserver, Vfs } from './vfs/types.js';

/** What createDiskVfs needs: the disk's name and driver (the caller closes the driver), the loaded config and a logger. */
export interface DiskVfsOptions {
  diskName: string;
  driver: StorageDriver;
  config: StoragedConfig;
  logger: Logger;
  /** Owner of the root and of objects without POSIX metadata; default: this process's uid/gid. */
  uid?: number;
  gid?: number;
  /** Drop folders of this disk: told of closes, asked before uploads (the journal's resumed ones too). */
  uploads?: UploadObserver;
}

/** Parallel stat/read requests while converting a directory listing. */
const LIST_CONCURRENCY = 16;

/** First retry delay of a failing backend operation (it doubles up to write_back.max_retry_delay). */
const RETRY_DELAY_MS = 1000;

/**
 * Assembles the VFS of one disk: its cache folder `<cache.dir>/<disk>` holds
 * `meta.db` (SQLite, WAL: metadata index, block tables and the write-back
 * journal), `blocks/` and `work/`. Write-back settings come from
 * config.writeBack; the journal of the previous run is resumed. The block cache is limited to cache.maxSize; blocks, read-ahead,
 * fetch concurrency and the listing TTL come from config.mount. Index and
 * VFS share one clock (vfs/clock.ts). Working files of inodes the index no
 * longer has are deleted before the VFS starts. The folder is locked for
 * this process (cache-lock.ts): EBUSY while another live process mounts
 * the same disk. EINVAL for a
 * disk name that cannot be a folder name; EIO when the database cannot be
 * opened. Vfs.close() closes everything opened here, not the driver.
 */
export async function createDiskVfs(options: DiskVfsOptions): Promise<Vfs> {
  const { diskName, driver, config, logger } = options;
  if (diskName === '' || diskName === '.' || diskName === '..' || /[/\\\0]/.test(diskName)) {
    throw new FsError('EINVAL', `disk name '${diskName}' cannot name a cache folder`, { op: 'mount' });
  }
  const dir = join(config.cache.dir, diskName);
  const uid = options.uid ?? process.getuid?.() ?? 0;
  const gid = options.gid ?? process.getgid?.() ?? 0;
  const lock = lockCacheDir(dir);
  let db: ReturnType<typeof openDatabase> | undefined;
  try {
    db = openDatabase(join(dir, 'meta.db'));
    // One clock for the index and the VFS: times stay strictly increasing across both.
    const index = openMetadataIndex(db, { uid, gid, now: nowNs });
    const cache = openBlockCache(db, dir, { blockSize: config.mount.blockSize, maxBytes: config.cache.maxSize });
    await removeStrayWorkingFiles(cache.working, index, logger);
    const journal = openJournal(db);
    const durability = new DurabilityBarrier(join(dir, 'meta.db-wal'), join(dir, 'work'));
    const content = createContentManager({
      driver,
      index,
      blocks: cache.blocks,
      working: cache.working,
      blockSize: config.mount.blockSize,
      readAhead: config.mount.readAhead,
      fetchConcurrency: config.mount.fetchConcurrency,
      // Dirty data may fill the whole cache (clean blocks are evicted for it, see setReserved); beyond that, writers get ENOSPC.
      dirtyLimit: config.cache.maxSize,
      cacheDir: dir,
      logger: logger.child({ component: 'content' }),
      promoteWorkingFile: (ino, hash, size) => cache.promote(ino, hash, size),
    });
    // One limit for the cache: clean blocks keep within what dirty data leaves of it.
    cache.blocks.setReserved(() => content.usage().dirtyBytes);
    logger.debug({ disk: diskName, cacheDir: dir }, 'disk VFS opened');
    return createVfs({
      driver,
      index,
      content,
      logger: logger.child({ component: 'vfs', disk: diskName }),
      settings: {
        refreshTtlMs: config.mount.refreshTtl * 1000,
        uid,
        gid,
        listConcurrency: LIST_CONCURRENCY,
        originId: cacheOrigin(dir),
        writeBack: {
          uploadDelayMs: config.writeBack.delay * 1000,
          concurrency: config.writeBack.concurrency,
          retryDelayMs: RETRY_DELAY_MS,
          maxRetryDelayMs: config.writeBack.maxRetryDelay * 1000,
          fsyncOnClose: config.writeBack.fsyncOnClose,
        },
      },
      journal,
      durability,
      ...(options.uploads ? { uploads: options.uploads } : {}),
      onClose: async () => {
        await durability.close();
        await cache.close();
        lock.release();
      },
    });
  } catch (err) {
    if (db?.open) db.close();
    lock.release();
    throw err;
  }
}

/**
 * The random id of this cache folder (`<dir>/origin`, made once): uploads
 * carry it with the inode number as object metadata, so this cache
 * recognises its own objects in a conflict check.
 */
function cacheOrigin(dir: string): string {
  const file = join(dir, 'origin');
  try {
    const id = readFileSync(file, 'utf8').trim();
    if (/^[0-9a-f]{32}$/.test(id)) return id;
  } catch {
    // not made yet
  }
  const id = randomBytes(16).toString('hex');
  writeFileSync(file, `${id}\n`);
  return id;
}

/**
 * Deletes the working files of inodes the index no longer has (the index's
 * startup sweep deleted nodes left nameless by the previous run: their
 * dirty data belongs to no file any more).
 */
async function removeStrayWorkingFiles(working: WorkingFiles, index: MetadataIndex, logger: Logger): Promise<void> {
  for (const ino of working.list()) {
    if (index.get(ino) !== undefined) continue;
    await working.remove(ino);
    logger.debug({ ino }, 'removed the working file of a deleted inode');
  }
}
