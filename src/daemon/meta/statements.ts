import type { Database, Statement } from '../db.js';
import { NODE_COLUMNS, type NodeValues } from './node-row.js';

const NODE_VALUES =
  '@type, @mode, @uid, @gid, @size, @atime_ns, @mtime_ns, @ctime_ns, @nlink, @target, @state, @remote_etag, @remote_size, @remote_mtime_ms, @content_hash';
const NODE_FIELDS =
  'type, mode, uid, gid, size, atime_ns, mtime_ns, ctime_ns, nlink, target, state, remote_etag, remote_size, remote_mtime_ms, content_hash';

/** What reconcileDirectory needs of a local child (small rows: it reads 100,000 of them). */
export interface LocalChildRecord {
  name: string;
  ino: number;
  type: string;
  state: string;
  remote_etag: string | null;
  remote_size: number | null;
  remote_mtime_ms: number | null;
}

/** A name of a node: its parent and the entry name. */
export interface NameRecord {
  parent: number;
  name: string;
}

/** A block map row. */
export interface BlockRecord {
  idx: number;
  hash: string;
  size: number;
}

/**
 * Every prepared statement of the metadata index, created once per
 * connection. Node reads use safeIntegers (nanosecond times exceed 2^53);
 * others return plain numbers.
 */
export function prepareStatements(db: Database) {
  const nodes = (sql: string): Statement<NodeValues> => db.prepare<NodeValues>(sql).safeIntegers(true).raw(true);
  const count = (sql: string): Statement<number> => db.prepare<number>(sql).pluck();
  return {
    getNode: nodes(`SELECT ${NODE_COLUMNS} FROM nodes n WHERE n.ino = ?`),
    /** Named files with local changes (state 'new' or 'dirty'). */
    unsyncedFiles: db.prepare<number>("SELECT ino FROM nodes WHERE state != 'clean' AND type = 'file' AND nlink > 0").pluck(),
    /** A named, clean file whose uploaded content is (hash, size), other than an inode: for dedup. */
    byContent: nodes(
      `SELECT ${NODE_COLUMNS} FROM nodes n WHERE n.content_hash = ? AND n.size = ? AND n.ino != ? AND n.type = 'file' ` +
        "AND n.state = 'clean' AND n.nlink > 0 AND n.remote_size IS NOT NULL LIMIT 1",
    ),
    lookup: nodes(`SELECT ${NODE_COLUMNS} FROM entries e JOIN nodes n ON n.ino = e.ino WHERE e.parent = ? AND e.name = ?`),
    /** The entry name, then NODE_COLUMNS. */
    children: nodes(
      `SELECT e.name AS name, ${NODE_COLUMNS} FROM entries e JOIN nodes n ON n.ino = e.ino WHERE e.parent = ? ORDER BY e.name`,
    ),
    localChildren: db.prepare<LocalChildRecord>(
      'SELECT e.name, n.ino, n.type, n.state, n.remote_etag, n.remote_size, n.remote_mtime_ms ' +
        'FROM entries e JOIN nodes n ON n.ino = e.ino WHERE e.parent = ?',
    ),
    childCount: count('SELECT count(*) FROM entries WHERE parent = ?'),
    childDirCount: count("SELECT count(*) FROM entries e JOIN nodes n ON n.ino = e.ino WHERE e.parent = ? AND n.type = 'directory'"),
    entryIno: db.prepare<number>('SELECT ino FROM entries WHERE parent = ? AND name = ?').pluck(),
    /** Positional (cheaper than named parameters in bulk): values in NODE_FIELDS order, see insertValues(). */
    insertNode: db.prepare(`INSERT INTO nodes (${NODE_FIELDS}) VALUES (${NODE_FIELDS.split(',').map(() => '?').join(', ')})`),
    insertNodeWithIno: db.prepare(`INSERT INTO nodes (ino, ${NODE_FIELDS}) VALUES (@ino, ${NODE_VALUES})`),
    updateNode: db.prepare(
      'UPDATE nodes SET mode = @mode, uid = @uid, gid = @gid, size = @size, atime_ns = @atime_ns, mtime_ns = @mtime_ns, ' +
        'ctime_ns = @ctime_ns, nlink = @nlink, target = @target, state = @state, remote_etag = @remote_etag, ' +
        'remote_size = @remote_size, remote_mtime_ms = @remote_mtime_ms, content_hash = @content_hash WHERE ino = @ino',
    ),
    deleteNode: db.prepare('DELETE FROM nodes WHERE ino = ?'),
    /** A clean node whose backend object changed: attributes absent from the backend (NULL) stay. */
    refreshNode: db.prepare(
      'UPDATE nodes SET mode = COALESCE(@mode, mode), uid = COALESCE(@uid, uid), gid = COALESCE(@gid, gid), size = @size, ' +
        'atime_ns = MAX(atime_ns, @mtime_ns), mtime_ns = @mtime_ns, ctime_ns = @ctime_ns, target = @target, ' +
        'remote_etag = @remote_etag, remote_size = @remote_size, remote_mtime_ms = @remote_mtime_ms, content_hash = NULL WHERE ino = @ino',
    ),
    /** A directory the backend lost but that holds local changes: it becomes local-only. */
    markLocalOnly: db.prepare("UPDATE nodes SET state = 'new', remote_etag = NULL, remote_size = NULL, remote_mtime_ms = NULL WHERE ino = ?"),
    /** A directory the backend lists again (or lists for the first time) after it was local-only: clean, with its listed version. */
    markDirectorySynced: db.prepare(
      "UPDATE nodes SET state = 'clean', remote_etag = ?, remote_size = ?, remote_mtime_ms = ? WHERE ino = ?",
    ),
    addNlink: db.prepare('UPDATE nodes SET nlink = nlink + ? WHERE ino = ?'),
    setNlink: db.prepare('UPDATE nodes SET nlink = ? WHERE ino = ?'),
    /** Sets mtime and ctime of a directory whose entries changed. */
    touchDir: db.prepare('UPDATE nodes SET mtime_ns = @now, ctime_ns = @now WHERE ino = @ino'),
    touchCtime: db.prepare('UPDATE nodes SET ctime_ns = @now WHERE ino = @ino'),
    insertEntry: db.prepare('INSERT INTO entries (parent, name, ino) VALUES (?, ?, ?)'),
    deleteEntry: db.prepare('DELETE FROM entries WHERE parent = ? AND name = ?'),
    moveEntry: db.prepare('UPDATE entries SET parent = ?, name = ? WHERE parent = ? AND name = ?'),
    linkCount: count('SELECT count(*) FROM entries WHERE ino = ?'),
    /** Names of a node, oldest first (rowid order survives renames). */
    namesOf: db.prepare<NameRecord>('SELECT parent, name FROM entries WHERE ino = ? ORDER BY rowid'),
    firstName: db.prepare<NameRecord>('SELECT parent, name FROM entries WHERE ino = ? ORDER BY rowid LIMIT 1'),
    /** Nodes left without a name (unlinked while open, then the process ended). */
    sweepOrphans: db.prepare(
      'DELETE FROM nodes WHERE ino <> ? AND NOT EXISTS (SELECT 1 FROM entries e WHERE e.ino = nodes.ino) ' +
        'AND NOT EXISTS (SELECT 1 FROM entries c WHERE c.parent = nodes.ino)',
    ),
    getListedAt: db.prepare<number>('SELECT listed_at FROM dir_listings WHERE ino = ?').pluck(),
    setListedAt: db.prepare('INSERT INTO dir_listings (ino, listed_at) VALUES (?, ?) ON CONFLICT (ino) DO UPDATE SET listed_at = excluded.listed_at'),
    blocks: db.prepare<BlockRecord>('SELECT idx, hash, size FROM file_blocks WHERE ino = ? ORDER BY idx'),
    block: db.prepare<BlockRecord>('SELECT idx, hash, size FROM file_blocks WHERE ino = ? AND idx = ?'),
    setBlock: db.prepare(
      'INSERT INTO file_blocks (ino, idx, hash, size) VALUES (?, ?, ?, ?) ON CONFLICT (ino, idx) DO UPDATE SET hash = excluded.hash, size = excluded.size',
    ),
    clearBlocks: db.prepare('DELETE FROM file_blocks WHERE ino = ?'),
    setXattr: db.prepare('INSERT INTO xattrs (ino, name, value) VALUES (?, ?, ?) ON CONFLICT (ino, name) DO UPDATE SET value = excluded.value'),
    getXattr: db.prepare<Buffer>('SELECT value FROM xattrs WHERE ino = ? AND name = ?').pluck(),
    listXattrs: db.prepare<string>('SELECT name FROM xattrs WHERE ino = ? ORDER BY name').pluck(),
    childrenWithXattrs: db.prepare<number>('SELECT DISTINCT x.ino FROM entries e JOIN xattrs x ON x.ino = e.ino WHERE e.parent = ?').pluck(),
    removeXattr: db.prepare('DELETE FROM xattrs WHERE ino = ? AND name = ?'),
    countNodes: count('SELECT count(*) FROM nodes'),
  };
}

/** The prepared statements of one index. */
export type Statements = ReturnType<typeof prepareStatements>;
