import { join } from 'node:path';
import { openDatabase, type Database } from '../db.js';
import { migrateHooksSchema } from './job-schema.js';

/** File name of the hooks database inside the cache folder. */
export const HOOKS_DB_FILE = 'hooks.db';

/**
 * Opens (creating it) `<cacheDir>/hooks.db`, the database of the drop-folder
 * engine, and brings its tables up to date. Each module keeping tables in
 * this file migrates them here, after the others (module 'hooks': the
 * durable jobs). Failures reject with FsError EIO naming the file (see
 * openDatabase, migrate). The caller closes the database.
 */
export function openHooksDatabase(cacheDir: string): Database {
  const db = openDatabase(join(cacheDir, HOOKS_DB_FILE));
  try {
    migrateHooksSchema(db);
  } catch (err) {
    db.close();
    throw err;
  }
  return db;
}
