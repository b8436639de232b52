import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { Database } from '../../../src/daemon/db.js';
import { HOOKS_DB_FILE, hooksDirectory } from '../../../src/daemon/hooks/hooks-db.js';
import { toJob, type JobRow } from '../../../src/daemon/hooks/job-rows.js';
import { openJobStore, type JobStore } from '../../../src/daemon/hooks/job-store.js';
import type { HookJob } from '../../../src/daemon/hooks/types.js';

/** What a read of the local engine's hooks.db sees. */
export interface HooksDbView {
  readonly db: Database;
  readonly store: JobStore;
  /** Every job of `watch`, oldest first. */
  jobs(watch: string): HookJob[];
  /** How many rows the metadata index has for `watch`. */
  metadataRows(watch: string): number;
}

type ReadOnlyConstructor = new (file: string, options: { readonly: true; fileMustExist: true; timeout: number }) => Database;
const BetterSqlite3 = createRequire(import.meta.url)('better-sqlite3') as ReadOnlyConstructor;

/**
 * Opens `<cacheDir>/local-watches/hooks.db` (the database of `storaged
 * watch`) read-only, so it can be read while the watch process writes it
 * (WAL readers never block the writer) or after it was killed, runs `read`
 * and closes it. Undefined when the file does not exist yet.
 */
export function readLocalHooksDb<T>(cacheDir: string, read: (view: HooksDbView) => T): T | undefined {
  const file = join(hooksDirectory(cacheDir, {}), HOOKS_DB_FILE);
  if (!existsSync(file)) return undefined;
  const db = new BetterSqlite3(file, { readonly: true, fileMustExist: true, timeout: 5000 });
  try {
    const store = openJobStore(db);
    const jobsOf = db.prepare<JobRow>('SELECT * FROM hook_jobs WHERE watch = ? ORDER BY id');
    const metadataCount = db.prepare<number>('SELECT count(*) FROM file_metadata WHERE watch = ?').pluck();
    return read({
      db,
      store,
      jobs: (watch) => jobsOf.all(watch).map(toJob),
      metadataRows: (watch) => metadataCount.get(watch) ?? 0,
    });
  } finally {
    db.close();
  }
}

/** The job counts by state of `watch` (every state, 0 when none), or undefined before the database exists. */
export function jobCounts(cacheDir: string, watch: string): Record<string, number> | undefined {
  return readLocalHooksDb(cacheDir, ({ store }) => store.counts().get(watch) ?? {});
}

/** Polls `check` every 100 ms until it returns something other than undefined/false; throws with `context()` after `timeoutMs`. */
export async function until<T>(what: string, check: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs: number, context: () => string = () => ''): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}\n${context()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
