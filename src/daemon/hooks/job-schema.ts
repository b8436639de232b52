import { migrate, type Database, type MigrationStep } from '../db.js';

/**
 * Tables of the durable hook jobs (module 'hooks' in schema_versions of
 * `<cache dir>/hooks.db`). Append-only: add a step, never edit one.
 *
 * - `hook_jobs`: one row per job (one version of one file of one watched
 *   folder), the columns of HookJob (types.ts). Rows stay after the job
 *   ended: they are the record `storaged status` and the index show.
 *   `mtime_ms` is REAL (local mtimes have sub-millisecond fractions that a
 *   version comparison must keep); `results` is a JSON array of StepResult,
 *   `outcome` a JSON object; `last_*` the last failure.
 * - Indexes: due jobs (queued, by due time), the jobs of a path (newest
 *   last), counts per watch and state, and the unfinished jobs.
 */
export const HOOKS_SCHEMA: readonly MigrationStep[] = [
  `CREATE TABLE hook_jobs (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     watch TEXT NOT NULL,
     path TEXT NOT NULL,
     size INTEGER NOT NULL,
     mtime_ms REAL NOT NULL,
     state TEXT NOT NULL CHECK (state IN ('queued', 'running', 'done', 'rejected', 'quarantined', 'failed', 'superseded')),
     step INTEGER NOT NULL DEFAULT 0,
     attempts INTEGER NOT NULL DEFAULT 0,
     next_at_ms INTEGER NOT NULL,
     input TEXT,
     results TEXT NOT NULL DEFAULT '[]',
     last_code TEXT,
     last_message TEXT,
     last_at_ms INTEGER,
     outcome TEXT,
     created_ms INTEGER NOT NULL,
     updated_ms INTEGER NOT NULL
   ) STRICT;
   CREATE INDEX hook_jobs_due ON hook_jobs (next_at_ms, id) WHERE state = 'queued';
   CREATE INDEX hook_jobs_path ON hook_jobs (watch, path, id);
   CREATE INDEX hook_jobs_watch_state ON hook_jobs (watch, state);
   CREATE INDEX hook_jobs_unfinished ON hook_jobs (id) WHERE state IN ('queued', 'running');`,
];

/** Creates or upgrades the hook job tables of `db` (FsError EIO when the file is newer or a step fails). */
export function migrateHooksSchema(db: Database): void {
  migrate(db, 'hooks', HOOKS_SCHEMA);
}
