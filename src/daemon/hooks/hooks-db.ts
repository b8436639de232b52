import { join } from 'node:path';
import { openDatabase, type Database } from '../db.js';
import { migrateHooksSchema } from './job-schema.js';
import { migrateMetadataSchema } from './metadata-schema.js';

/** File name of the hooks database inside its folder. */
export const HOOKS_DB_FILE = 'hooks.db';
/** The folder (inside the cache folder) of the engine running the local watched folders. */
export const LOCAL_WATCHES_DIR = 'local-watches';

/**
 * The folder whose hooks.db holds the jobs and metadata of a watch: a
 * folder of a disk keeps them in the disk's cache folder (locked by the
 * process mounting it, so one engine owns them), local folders in
 * `<cache dir>/local-watches`.
 */
export function hooksDirectory(cacheDir: string, watch: { disk?: string | undefined }): string {
  return join(cacheDir, watch.disk ?? LOCAL_WATCHES_DIR);
}

/**
 * Opens (creating it) `<dir>/hooks.db` (dir: hooksDirectory), the database of the drop-folder
 * engine, and brings its tables up to date. Each module keeping tables in
 * this file migrates them here, after the others (module 'hooks': the
 * durable jobs). Failures reject with FsError EIO naming the file (see
 * openDatabase, migrate). The caller closes the database.
 */
export function openHooksDatabase(cacheDir: string): Database {
  const db = openDatabase(join(cacheDir, HOOKS_DB_FILE));
  try {
    migrateHooksSchema(db);
    migrateMetadataSchema(db);
  } catch (err) {
    db.close();
    throw err;
  }
  return db;
}
