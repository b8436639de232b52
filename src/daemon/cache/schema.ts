import { migrate, type Database, type MigrationStep } from '../db.js';

/**
 * Tables of the block cache, in the disk's database next to the index
 * (module 'cache' in schema_versions). Append-only: add a step, never edit one.
 *
 * - `blocks`: one row per block file under `blocks/<aa>/<sha256>`; the row
 *   is written after the file is in place and deleted before it is unlinked.
 * - `working_files`: one row per working file under `work/<ino>`: its
 *   logical size and held ranges (JSON [[start, end], ...]) as of its last
 *   sync(); the bytes of those ranges were fsynced before the row was written.
 */
export const CACHE_SCHEMA: readonly MigrationStep[] = [
  `CREATE TABLE blocks (
     hash TEXT PRIMARY KEY,
     size INTEGER NOT NULL,
     last_used_ms INTEGER NOT NULL
   ) STRICT, WITHOUT ROWID;
   CREATE INDEX blocks_by_last_use ON blocks (last_used_ms, hash);
   CREATE TABLE working_files (
     ino INTEGER PRIMARY KEY,
     size INTEGER NOT NULL,
     ranges TEXT NOT NULL,
     synced_ms INTEGER NOT NULL
   ) STRICT;`,
];

/** Creates or upgrades the cache tables of `db`. */
export function migrateCacheSchema(db: Database): void {
  migrate(db, 'cache', CACHE_SCHEMA);
}
