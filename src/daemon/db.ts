import { existsSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { FsError } from '../core/errors.js';

/**
 * The SQLite database of one mounted disk (better-sqlite3): the metadata
 * index and the block cache keep their tables in the same file, each module
 * migrating its own tables with `migrate`.
 *
 * better-sqlite3 ships no type declarations (and @types/better-sqlite3 is not
 * installed), so the subset storaged uses is typed here and the module is
 * loaded through createRequire.
 */

/** What a write statement changed. */
export interface RunResult {
  changes: number;
  lastInsertRowid: number | bigint;
}

/** A prepared statement; `Row` is the shape `get`/`all` return. */
export interface Statement<Row = unknown> {
  run(...params: unknown[]): RunResult;
  get(...params: unknown[]): Row | undefined;
  all(...params: unknown[]): Row[];
  iterate(...params: unknown[]): IterableIterator<Row>;
  /** Return only the first column of each row. */
  pluck(toggle?: boolean): this;
  /** Return INTEGER columns as bigint (exact beyond 2^53). */
  safeIntegers(toggle?: boolean): this;
  /** Return rows as arrays. */
  raw(toggle?: boolean): this;
  /** True for statements that return rows. */
  readonly reader: boolean;
}

/** A function wrapped in a transaction (BEGIN/COMMIT, ROLLBACK on throw; a savepoint when nested). */
export type Transaction<F extends (...args: never[]) => unknown> = F & {
  deferred: F;
  immediate: F;
  exclusive: F;
};

/** An open better-sqlite3 connection (the subset storaged uses). */
export interface Database {
  /** The file name given to the constructor. */
  readonly name: string;
  readonly open: boolean;
  readonly inTransaction: boolean;
  prepare<Row = unknown>(sql: string): Statement<Row>;
  /** Runs one or more SQL statements without results. */
  exec(sql: string): this;
  pragma(source: string, options?: { simple?: boolean }): unknown;
  transaction<F extends (...args: never[]) => unknown>(fn: F): Transaction<F>;
  close(): this;
}

type DatabaseConstructor = new (file: string, options?: { fileMustExist?: boolean; timeout?: number; readonly?: boolean }) => Database;

const requireCjs = createRequire(import.meta.url);
const BetterSqlite3 = requireCjs('better-sqlite3') as DatabaseConstructor;

/**
 * `PRAGMA synchronous` of every database. NORMAL in WAL mode loses at most
 * the last transactions on power loss, never consistency, and survives a
 * crash of the process. The write-back journal needs more only at the points
 * where a program is told its data is safe (close, fsync): there the VFS
 * fsyncs the WAL itself (daemon/durability.ts, group commit), so every other
 * commit keeps NORMAL's speed.
 */
export const SYNCHRONOUS: 'NORMAL' | 'FULL' = 'NORMAL';

/** How long a statement waits for a lock held by another connection, ms. */
export const BUSY_TIMEOUT_MS = 5000;

/** Page cache per connection, KiB: holds the index of a 100,000-entry tree (about 15 MB). */
export const PAGE_CACHE_KIB = 16 * 1024;

/** Format version of the file itself (PRAGMA user_version): 1 = has `schema_versions`. */
const FILE_FORMAT_VERSION = 1;

/**
 * Opens (creating it and its parent folders) the SQLite database at `file`
 * with WAL, synchronous=SYNCHRONOUS, foreign keys on and a busy timeout, and
 * makes sure the `schema_versions` table exists. A file that is not a
 * database, is corrupt, cannot be opened, or was written by a newer storaged
 * rejects with FsError EIO naming the file.
 */
export function openDatabase(file: string): Database {
  try {
    mkdirSync(dirname(file), { recursive: true });
  } catch (err) {
    throw new FsError('EIO', `cannot create the folder of database '${file}': ${reason(err)}`, { path: file, op: 'open', cause: err });
  }
  let db: Database | undefined;
  try {
    db = new BetterSqlite3(file, { timeout: BUSY_TIMEOUT_MS });
    db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    // Reading the schema is what detects a file that is not a database.
    db.prepare('SELECT count(*) FROM sqlite_master').pluck().get();
    const mode = db.pragma('journal_mode = WAL', { simple: true });
    if (typeof mode !== 'string' || mode.toLowerCase() !== 'wal') throw new Error(`journal_mode is ${String(mode)}, not wal`);
    db.pragma(`synchronous = ${SYNCHRONOUS}`);
    db.pragma('foreign_keys = ON');
    db.pragma(`cache_size = -${PAGE_CACHE_KIB}`);
    upgradeFileFormat(db);
    return db;
  } catch (err) {
    try {
      db?.close();
    } catch {
      // Already failing: the original error is the one to report.
    }
    if (err instanceof FsError) throw err;
    throw new FsError('EIO', `cannot open database '${file}': ${reason(err)}`, { path: file, op: 'open', cause: err });
  }
}

function upgradeFileFormat(db: Database): void {
  const version = Number(db.pragma('user_version', { simple: true }));
  if (version > FILE_FORMAT_VERSION) {
    throw new FsError('EIO', `database '${db.name}' has format ${version}, newer than this storaged understands (${FILE_FORMAT_VERSION})`, {
      path: db.name,
      op: 'open',
    });
  }
  if (version === FILE_FORMAT_VERSION) return;
  db.transaction(() => {
    db.exec('CREATE TABLE IF NOT EXISTS schema_versions (module TEXT PRIMARY KEY, version INTEGER NOT NULL) STRICT');
    db.pragma(`user_version = ${FILE_FORMAT_VERSION}`);
  }).immediate();
}

/** One migration step: SQL to execute, or a function for steps SQL alone cannot express. */
export type MigrationStep = string | ((db: Database) => void);

/**
 * Brings the tables of module `name` to version `steps.length`, running each
 * missing step (in order, each in its own transaction together with the
 * version bump). Versions are kept per module in `schema_versions`, so
 * several modules share one database file. Steps are append-only: never edit
 * a released one. A database whose module version is newer than `steps`
 * rejects EIO, and so does a failing step (rolled back; earlier steps stay).
 * Returns the version before migrating.
 */
export function migrate(db: Database, name: string, steps: readonly MigrationStep[]): number {
  const read = db.prepare<number>('SELECT version FROM schema_versions WHERE module = ?').pluck();
  const write = db.prepare('INSERT INTO schema_versions (module, version) VALUES (?, ?) ON CONFLICT (module) DO UPDATE SET version = excluded.version');
  const before = read.get(name) ?? 0;
  if (before > steps.length) {
    throw new FsError('EIO', `database '${db.name}': tables of '${name}' are at version ${before}, newer than this storaged (${steps.length})`, {
      path: db.name,
      op: 'migrate',
    });
  }
  for (let version = before; version < steps.length; version++) {
    const step = steps[version]!;
    try {
      db.transaction(() => {
        // Another connection may have migrated meanwhile: re-check inside the write lock.
        if ((read.get(name) ?? 0) > version) return;
        if (typeof step === 'string') db.exec(step);
        else step(db);
        write.run(name, version + 1);
      }).immediate();
    } catch (err) {
      throw fromSqliteError(err, db.name, `migrate ${name} to version ${version + 1}`);
    }
  }
  return before;
}

/**
 * An error thrown by SQLite as an FsError naming the database file:
 * SQLITE_FULL → ENOSPC, SQLITE_READONLY* → EROFS, SQLITE_BUSY/LOCKED* →
 * EBUSY, anything else (corruption, I/O errors, violated constraints) → EIO.
 * An FsError passes through unchanged.
 */
export function fromSqliteError(err: unknown, file: string, op?: string): FsError {
  if (err instanceof FsError) return err;
  const code = typeof (err as { code?: unknown })?.code === 'string' ? (err as { code: string }).code : '';
  const fsCode = code === 'SQLITE_FULL' ? 'ENOSPC' : code.startsWith('SQLITE_READONLY') ? 'EROFS' : /^SQLITE_(BUSY|LOCKED)/.test(code) ? 'EBUSY' : 'EIO';
  return new FsError(fsCode, `database '${file}'${op ? ` (${op})` : ''}: ${reason(err)}`, { path: file, ...(op ? { op } : {}), cause: err });
}

function reason(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * Opens an existing database read-only (no creation, no migration), for a
 * process that only looks (search, status) while another one writes: WAL
 * readers never block the writer. Undefined when the file does not exist;
 * a file that cannot be read as a database is FsError EIO naming it.
 */
export function openDatabaseReadOnly(file: string): Database | undefined {
  if (!existsSync(file)) return undefined;
  let db: Database | undefined;
  try {
    db = new BetterSqlite3(file, { readonly: true, fileMustExist: true, timeout: BUSY_TIMEOUT_MS });
    db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    db.prepare('SELECT count(*) FROM sqlite_master').pluck().get();
    return db;
  } catch (err) {
    db?.close();
    throw new FsError('EIO', `cannot open database '${file}' for reading: ${reason(err)}`, { path: file, op: 'open', cause: err });
  }
}
