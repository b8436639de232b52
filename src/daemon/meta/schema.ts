import type { MigrationStep } from '../db.js';

/** Module name of the metadata index in `schema_versions`. */
export const META_SCHEMA_MODULE = 'meta';

/**
 * Migration steps of the metadata index tables (append-only; see migrate()).
 * Names compare bytewise (BINARY collation on UTF-8). Inode numbers come from
 * AUTOINCREMENT so a number is never reused while the kernel may remember it.
 * Times are INTEGER nanoseconds (read back with safeIntegers). Block maps,
 * xattrs and listing times go with their node (ON DELETE CASCADE).
 */
export const META_SCHEMA_STEPS: readonly MigrationStep[] = [
  `
  CREATE TABLE nodes (
    ino INTEGER PRIMARY KEY AUTOINCREMENT,
    type TEXT NOT NULL CHECK (type IN ('file', 'directory', 'symlink')),
    mode INTEGER NOT NULL,
    uid INTEGER NOT NULL,
    gid INTEGER NOT NULL,
    size INTEGER NOT NULL,
    atime_ns INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    ctime_ns INTEGER NOT NULL,
    nlink INTEGER NOT NULL,
    target TEXT,
    state TEXT NOT NULL CHECK (state IN ('clean', 'dirty', 'new')),
    remote_etag TEXT,
    remote_size INTEGER,
    remote_mtime_ms INTEGER,
    content_hash TEXT
  ) STRICT;
  CREATE TABLE entries (
    parent INTEGER NOT NULL REFERENCES nodes (ino),
    name TEXT NOT NULL COLLATE BINARY,
    ino INTEGER NOT NULL REFERENCES nodes (ino),
    PRIMARY KEY (parent, name)
  ) STRICT;
  CREATE INDEX entries_by_ino ON entries (ino);
  CREATE TABLE dir_listings (
    ino INTEGER PRIMARY KEY REFERENCES nodes (ino) ON DELETE CASCADE,
    listed_at INTEGER NOT NULL
  ) STRICT;
  CREATE TABLE file_blocks (
    ino INTEGER NOT NULL REFERENCES nodes (ino) ON DELETE CASCADE,
    idx INTEGER NOT NULL,
    hash TEXT NOT NULL,
    size INTEGER NOT NULL,
    PRIMARY KEY (ino, idx)
  ) STRICT, WITHOUT ROWID;
  CREATE INDEX file_blocks_by_hash ON file_blocks (hash);
  CREATE TABLE xattrs (
    ino INTEGER NOT NULL REFERENCES nodes (ino) ON DELETE CASCADE,
    name TEXT NOT NULL COLLATE BINARY,
    value BLOB NOT NULL,
    PRIMARY KEY (ino, name)
  ) STRICT, WITHOUT ROWID;
  `,
  // Dedup: find a file whose uploaded content has a given sha256.
  `CREATE INDEX nodes_by_content ON nodes (content_hash) WHERE content_hash IS NOT NULL;`,
];
