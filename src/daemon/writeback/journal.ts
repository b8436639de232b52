import { FsError } from '../../core/errors.js';
import { fromSqliteError, type Database } from '../db.js';
import { migrateWritebackSchema } from './schema.js';
import type { Journal, JournalEntry, JournalOp } from './types.js';

/** The log call the journal makes (a pino Logger fits). */
export interface JournalLogger {
  warn(details: object, message: string): void;
}

/** Optional settings of openJournal. */
export interface JournalOptions {
  /** Clock for created/failure times, ms (default Date.now). */
  now?: () => number;
  /** Where unreadable rows are reported (once per row); default: nowhere. */
  logger?: JournalLogger;
}

/** A Journal over SQLite, plus what a startup check needs. */
export interface SqliteJournal extends Journal {
  /**
   * Seqs of rows whose op cannot be read back (corrupt JSON, unknown kind, op
   * not matching its columns). list() skips them; they stay in the table
   * (and in count()) until someone removes them: nothing is deleted silently.
   */
  corruptSeqs(): number[];
}

interface JournalRow {
  seq: number;
  ino: number;
  kind: string;
  op: string;
  created_ms: number;
  attempts: number;
  last_code: string | null;
  last_message: string | null;
  last_at_ms: number | null;
}

/** Longest failure message kept in a row (a backend may return a whole HTML page). */
const MAX_MESSAGE_CHARS = 2000;

/** The string fields of each op kind, besides `kind` and `ino`. */
const KEY_FIELDS: Record<JournalOp['kind'], readonly ('key' | 'from' | 'to')[]> = {
  upload: [],
  mkdir: ['key'],
  symlink: ['key'],
  unlink: ['key'],
  rmdir: ['key'],
  'rename-file': ['from', 'to'],
  'rename-dir': ['from', 'to'],
  link: ['from', 'to'],
};

const ROW_COLUMNS = 'seq, ino, kind, op, created_ms, attempts, last_code, last_message, last_at_ms';

/**
 * Opens the write-back journal of the disk whose database is `db`, creating
 * or upgrading its table (module 'writeback'). Every method is synchronous,
 * runs one or two prepared statements, and joins the caller's transaction
 * when there is one. add() rejects an invalid op with FsError EINVAL; SQLite
 * failures surface as FsError (see fromSqliteError). An 'upload' row's op is
 * given by its columns alone, so an upload is never lost to a damaged JSON.
 */
export function openJournal(db: Database, options: JournalOptions = {}): SqliteJournal {
  migrateWritebackSchema(db);
  const now = options.now ?? Date.now;
  const reported = new Set<number>();
  const sql = {
    insert: db.prepare(
      'INSERT INTO journal (ino, kind, op, created_ms) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING',
    ),
    uploadSeq: db.prepare<number>("SELECT seq FROM journal WHERE ino = ? AND kind = 'upload'").pluck(),
    uploadRow: db.prepare<JournalRow>(`SELECT ${ROW_COLUMNS} FROM journal WHERE ino = ? AND kind = 'upload'`),
    remove: db.prepare('DELETE FROM journal WHERE seq = ?'),
    removeUpload: db.prepare("DELETE FROM journal WHERE ino = ? AND kind = 'upload'"),
    fail: db.prepare(
      'UPDATE journal SET attempts = attempts + 1, last_code = ?, last_message = ?, last_at_ms = ? WHERE seq = ?',
    ),
    all: db.prepare<JournalRow>(`SELECT ${ROW_COLUMNS} FROM journal ORDER BY seq`),
    count: db.prepare<number>('SELECT count(*) FROM journal').pluck(),
  };

  /** Runs `fn`, turning a SQLite error into an FsError naming the database and `op`. */
  const guarded = <T>(op: string, fn: () => T): T => {
    try {
      return fn();
    } catch (err) {
      throw fromSqliteError(err, db.name, op);
    }
  };

  const readAll = (): { entries: JournalEntry[]; corrupt: JournalRow[] } => {
    const entries: JournalEntry[] = [];
    const corrupt: JournalRow[] = [];
    for (const row of sql.all.iterate()) {
      const entry = toEntry(row);
      if (entry === undefined) corrupt.push(row);
      else entries.push(entry);
    }
    return { entries, corrupt };
  };

  return {
    add(op) {
      const clean = toOp(op);
      if (clean === undefined) {
        throw new FsError('EINVAL', `write-back journal: invalid operation ${describe(op)}`, { op: 'journal add' });
      }
      return guarded('journal add', () => {
        const result = sql.insert.run(clean.ino, clean.kind, JSON.stringify(clean), now());
        if (result.changes > 0) return Number(result.lastInsertRowid);
        // Only the one-upload-per-inode index can refuse a row.
        const existing = sql.uploadSeq.get(clean.ino);
        if (existing === undefined) throw new Error(`journal row of ${describe(clean)} was neither inserted nor found`);
        return existing;
      });
    },
    remove(seq) {
      guarded('journal remove', () => sql.remove.run(seq));
    },
    removeUpload(ino) {
      guarded('journal remove upload', () => sql.removeUpload.run(ino));
    },
    uploadOf(ino) {
      const row = guarded('journal upload of', () => sql.uploadRow.get(ino));
      return row === undefined ? undefined : toEntry(row);
    },
    recordFailure(seq, error) {
      const code = String(error.code);
      const message = String(error.message).slice(0, MAX_MESSAGE_CHARS);
      guarded('journal record failure', () => sql.fail.run(code, message, now(), seq));
    },
    list() {
      const { entries, corrupt } = guarded('journal list', readAll);
      for (const row of corrupt) {
        if (reported.has(row.seq)) continue;
        reported.add(row.seq);
        options.logger?.warn({ seq: row.seq, ino: row.ino, kind: row.kind }, 'unreadable write-back journal row skipped');
      }
      return entries;
    },
    count() {
      return guarded('journal count', () => sql.count.get() ?? 0);
    },
    corruptSeqs() {
      return guarded('journal list', readAll).corrupt.map((row) => row.seq);
    },
  };
}

/** The entry of a row, or undefined when its op cannot be trusted. */
function toEntry(row: JournalRow): JournalEntry | undefined {
  let op: JournalOp | undefined;
  if (row.kind === 'upload') {
    op = Number.isSafeInteger(row.ino) && row.ino >= 0 ? { kind: 'upload', ino: row.ino } : undefined;
  } else {
    try {
      op = toOp(JSON.parse(row.op));
    } catch {
      op = undefined;
    }
    if (op !== undefined && (op.kind !== row.kind || op.ino !== row.ino)) op = undefined;
  }
  if (op === undefined) return undefined;
  const entry: JournalEntry = { seq: row.seq, op, createdMs: row.created_ms, attempts: row.attempts };
  if (row.last_code !== null) {
    entry.lastError = { code: row.last_code, message: row.last_message ?? '', atMs: row.last_at_ms ?? 0 };
  }
  return entry;
}

/** A clean copy of `value` holding only the fields of its kind, or undefined when it is not a valid JournalOp. */
function toOp(value: unknown): JournalOp | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const record = value as Record<string, unknown>;
  const kind = record.kind;
  if (typeof kind !== 'string' || !Object.hasOwn(KEY_FIELDS, kind)) return undefined;
  const ino = record.ino;
  if (typeof ino !== 'number' || !Number.isSafeInteger(ino) || ino < 0) return undefined;
  const clean: Record<string, unknown> = { kind, ino };
  for (const field of KEY_FIELDS[kind as JournalOp['kind']]) {
    if (typeof record[field] !== 'string') return undefined;
    clean[field] = record[field];
  }
  if (kind === 'rename-file') {
    if (typeof record.replaced !== 'boolean') return undefined;
    clean.replaced = record.replaced;
  }
  return clean as JournalOp;
}

/** A short printable form of an op for messages. */
function describe(value: unknown): string {
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  return text.length > 200 ? `${text.slice(0, 200)}...` : text;
}
