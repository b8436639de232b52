import { join } from 'node:path';
import { openDatabase, type Database } from '../db.js';
import { migrateHooksSchema } from './job-schema.js';
import { migrateMetadataSchema } from './metadata-schema.js';
import { HOOKS_DB_FILE } from './hooks-paths.js';

export { HOOKS_DB_FILE, LOCAL_WATCHES_DIR, hooksDirectory } from './hooks-paths.js';

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
