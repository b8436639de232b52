import { migrate, type Database, type MigrationStep } from '../db.js';

/**
 * Tables of the write-back journal, in the disk's database next to the index
 * and the block cache (module 'writeback' in schema_versions). Append-only:
 * add a step, never edit one.
 *
 * - `journal`: one row per pending backend operation, in `seq` order
 *   (AUTOINCREMENT: a seq is never reused, so replay order is recording
 *   order even after rows were deleted). `ino` and `kind` repeat the op for
 *   the index; `op` is the JSON of the JournalOp. At most one 'upload' row
 *   per inode (the partial unique index). `attempts`/`last_*`: the failure
 *   record of the row.
 */
export const WRITEBACK_SCHEMA: readonly MigrationStep[] = [
  `CREATE TABLE journal (
     seq INTEGER PRIMARY KEY AUTOINCREMENT,
     ino INTEGER NOT NULL,
     kind TEXT NOT NULL,
     op TEXT NOT NULL,
     created_ms INTEGER NOT NULL,
     attempts INTEGER NOT NULL DEFAULT 0,
     last_code TEXT,
     last_message TEXT,
     last_at_ms INTEGER
   ) STRICT;
   CREATE UNIQUE INDEX journal_one_upload_per_ino ON journal (ino) WHERE kind = 'upload';`,
];

/** Creates or upgrades the write-back tables of `db`. */
export function migrateWritebackSchema(db: Database): void {
  migrate(db, 'writeback', WRITEBACK_SCHEMA);
}
