import { FsError } from '../../core/errors.js';
import { fromSqliteError, openDatabaseReadOnly, type Database, type Statement } from '../db.js';
import { METADATA_MIGRATIONS, metadataSchemaVersion, migrateMetadataSchema } from './metadata-schema.js';
import type { QueryNode } from './search/query-ast.js';
import { parseQuery } from './search/query-parser.js';
import { queryToSql } from './search/query-sql.js';
import type { FileMetadataRecord, MetadataSink } from './types.js';

/** Options of MetadataStore.search. */
export interface MetadataSearchOptions {
  /** Most records returned (default DEFAULT_SEARCH_LIMIT). */
  limit?: number;
  /** Only records of this disk. */
  disk?: string;
  /** Only records of this watched folder (with `disk` too: both must match). */
  watch?: string;
}

/** Records search() returns when no limit is given. */
export const DEFAULT_SEARCH_LIMIT = 1000;

/** A row of file_metadata as SQLite returns it. */
interface MetadataRow {
  watch: string;
  path: string;
  disk: string | null;
  size: number;
  mime: string | null;
  sha256: string;
  width: number | null;
  height: number | null;
  camera: string | null;
  taken_at_ms: number | null;
  gps_latitude: number | null;
  gps_longitude: number | null;
  extra: string | null;
  indexed_at_ms: number;
}

const COLUMNS =
  'watch, path, disk, size, mime, sha256, width, height, camera, taken_at_ms, gps_latitude, gps_longitude, extra, indexed_at_ms';

/**
 * The metadata index (what `storaged search` finds) in the hooks database:
 * table file_metadata, one row per (watch, path). Writes are synchronous
 * short SQLite statements. Failures are FsError (fromSqliteError: EIO,
 * ENOSPC, EBUSY, EROFS) naming the database file; a bad query is EINVAL.
 */
export class MetadataStore implements MetadataSink {
  readonly #db: Database;
  /** False for a read-only database whose metadata tables were never created: every search is empty. */
  readonly #hasTables: boolean;
  #upsert: Statement | undefined;
  #remove: Statement | undefined;
  #get: Statement<MetadataRow> | undefined;

  /**
   * Over `db` (the hooks database). Migrates the metadata tables unless
   * `readOnly`; a read-only store checks their version instead (EIO when it
   * is newer than this storaged's).
   */
  constructor(db: Database, options: { readOnly?: boolean } = {}) {
    this.#db = db;
    if (!options.readOnly) {
      migrateMetadataSchema(db);
      this.#hasTables = true;
      return;
    }
    const version = this.#guard('read schema version', () => metadataSchemaVersion(db));
    if (version > METADATA_MIGRATIONS.length) {
      throw new FsError('EIO', `database '${db.name}': the metadata index is at version ${version}, newer than this storaged (${METADATA_MIGRATIONS.length})`, {
        path: db.name,
        op: 'search',
      });
    }
    this.#hasTables = version > 0;
  }

  /** Inserts or replaces the record of (record.watch, record.path). */
  upsert(record: FileMetadataRecord): void {
    this.#upsert ??= this.#db.prepare(
      `INSERT OR REPLACE INTO file_metadata (${COLUMNS}, name, ext) VALUES (${COLUMNS.split(',').map(() => '?').join(', ')}, ?, ?)`,
    );
    const statement = this.#upsert;
    const name = baseName(record.path);
    this.#guard(`index '${record.path}'`, () =>
      statement.run(
        record.watch,
        record.path,
        record.disk ?? null,
        record.size,
        record.mime ?? null,
        record.sha256.toLowerCase(),
        record.width ?? null,
        record.height ?? null,
        record.camera ?? null,
        record.takenAtMs ?? null,
        record.gpsLatitude ?? null,
        record.gpsLongitude ?? null,
        record.extra === undefined ? null : JSON.stringify(record.extra),
        record.indexedAtMs,
        name,
        extensionOf(name),
      ),
    );
  }

  /** Forgets (watch, path); nothing to forget is fine. */
  remove(watch: string, path: string): void {
    this.#remove ??= this.#db.prepare('DELETE FROM file_metadata WHERE watch = ? AND path = ?');
    const statement = this.#remove;
    this.#guard(`forget '${path}'`, () => statement.run(watch, path));
  }

  /** The record of (watch, path), or undefined. */
  get(watch: string, path: string): FileMetadataRecord | undefined {
    if (!this.#hasTables) return undefined;
    this.#get ??= this.#db.prepare<MetadataRow>(`SELECT ${COLUMNS} FROM file_metadata WHERE watch = ? AND path = ?`);
    const statement = this.#get;
    const row = this.#guard(`read '${path}'`, () => statement.get(watch, path));
    return row === undefined ? undefined : toRecord(row);
  }

  /**
   * Records matching `query` (a query string, see search/query-parser.ts, or
   * a parsed query), restricted to `options.disk` / `options.watch`, ordered
   * by path then watch, at most `options.limit`. A bad query is FsError EINVAL.
   */
  search(query: string | QueryNode, options: MetadataSearchOptions = {}): FileMetadataRecord[] {
    const limit = options.limit ?? DEFAULT_SEARCH_LIMIT;
    if (!Number.isInteger(limit) || limit < 0) throw new FsError('EINVAL', `search limit must be a non-negative whole number, not ${limit}`, { op: 'search' });
    const condition = queryToSql(typeof query === 'string' ? parseQuery(query) : query);
    if (!this.#hasTables) return [];
    const scope: string[] = [];
    const params: Array<string | number> = [];
    if (options.disk !== undefined) {
      scope.push('disk = ?');
      params.push(options.disk);
    }
    if (options.watch !== undefined) {
      scope.push('watch = ?');
      params.push(options.watch);
    }
    const where = [...scope, condition.sql].join(' AND ');
    const sql = `SELECT ${COLUMNS} FROM file_metadata WHERE ${where} ORDER BY path, watch LIMIT ?`;
    const rows = this.#guard('search', () => this.#db.prepare<MetadataRow>(sql).all(...params, ...condition.params, limit));
    return rows.map(toRecord);
  }

  #guard<T>(op: string, run: () => T): T {
    try {
      return run();
    } catch (err) {
      throw fromSqliteError(err, this.#db.name, op);
    }
  }
}

/** An open read-only metadata index and how to close it. */
export interface MetadataReader {
  readonly store: MetadataStore;
  close(): void;
}

/**
 * Opens the hooks database `file` read-only for searching, so it works while
 * a mount or the daemon writes it (WAL readers never block the writer).
 * Resolves undefined when the file does not exist (nothing indexed yet); a
 * file that is not a database, or an index newer than this storaged, is
 * FsError EIO naming it.
 */
export function openMetadataReader(file: string): MetadataReader | undefined {
  const db = openDatabaseReadOnly(file);
  if (db === undefined) return undefined;
  try {
    const store = new MetadataStore(db, { readOnly: true });
    const open = db;
    return { store, close: () => open.close() };
  } catch (err) {
    db.close();
    if (err instanceof FsError) throw err;
    throw new FsError('EIO', `cannot open database '${file}' for reading: ${err instanceof Error ? err.message : String(err)}`, { path: file, op: 'search', cause: err });
  }
}

function toRecord(row: MetadataRow): FileMetadataRecord {
  const record: FileMetadataRecord = { watch: row.watch, path: row.path, size: row.size, sha256: row.sha256, indexedAtMs: row.indexed_at_ms };
  if (row.disk !== null) record.disk = row.disk;
  if (row.mime !== null) record.mime = row.mime;
  if (row.width !== null) record.width = row.width;
  if (row.height !== null) record.height = row.height;
  if (row.camera !== null) record.camera = row.camera;
  if (row.taken_at_ms !== null) record.takenAtMs = row.taken_at_ms;
  if (row.gps_latitude !== null) record.gpsLatitude = row.gps_latitude;
  if (row.gps_longitude !== null) record.gpsLongitude = row.gps_longitude;
  if (row.extra !== null) record.extra = JSON.parse(row.extra) as Record<string, unknown>;
  return record;
}

/** The last segment of a '/'-separated path. */
function baseName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

/** 'photo.JPG' -> 'jpg'; '.bashrc', 'README' -> ''. */
function extensionOf(name: string): string {
  const dot = name.lastIndexOf('.');
  return dot <= 0 || dot === name.length - 1 ? '' : name.slice(dot + 1).toLowerCase();
}
