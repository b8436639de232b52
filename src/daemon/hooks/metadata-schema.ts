import { migrate, type Database, type MigrationStep } from '../db.js';

/** The module name of the metadata index in `schema_versions`. */
export const METADATA_MODULE = 'metadata';

/**
 * Migrations of the metadata index (append-only: never edit a released
 * step). Table file_metadata holds one row per file of a watched folder,
 * keyed by (watch, path); `path` is relative to the disk's root (or the
 * local folder's). `name` (the last path segment) and `ext` (lower-case,
 * without the dot, '' when none) are derived from the path on write so
 * queries on them can use an index. Text columns users search
 * case-insensitively are COLLATE NOCASE. `extra` is a JSON object.
 */
export const METADATA_MIGRATIONS: readonly MigrationStep[] = [
  `CREATE TABLE file_metadata (
     watch TEXT NOT NULL,
     path TEXT NOT NULL,
     disk TEXT,
     name TEXT NOT NULL COLLATE NOCASE,
     ext TEXT NOT NULL COLLATE NOCASE,
     size INTEGER NOT NULL,
     mime TEXT COLLATE NOCASE,
     sha256 TEXT NOT NULL,
     width INTEGER,
     height INTEGER,
     camera TEXT COLLATE NOCASE,
     taken_at_ms INTEGER,
     gps_latitude REAL,
     gps_longitude REAL,
     extra TEXT,
     indexed_at_ms INTEGER NOT NULL,
     PRIMARY KEY (watch, path)
   ) STRICT;
   CREATE INDEX file_metadata_disk_path ON file_metadata (disk, path);
   CREATE INDEX file_metadata_mime_taken ON file_metadata (mime, taken_at_ms);
   CREATE INDEX file_metadata_taken ON file_metadata (taken_at_ms);
   CREATE INDEX file_metadata_size ON file_metadata (size);
   CREATE INDEX file_metadata_name ON file_metadata (name);
   CREATE INDEX file_metadata_ext ON file_metadata (ext);
   CREATE INDEX file_metadata_camera ON file_metadata (camera);
   CREATE INDEX file_metadata_sha256 ON file_metadata (sha256);`,
];

/**
 * Brings the metadata tables of `db` (the hooks database) to the current
 * version; idempotent. The opener of the hooks database calls it, and so
 * does MetadataStore's constructor. FsError EIO from `migrate` on failure.
 */
export function migrateMetadataSchema(db: Database): void {
  migrate(db, METADATA_MODULE, METADATA_MIGRATIONS);
}

/** The metadata module's version in `db` (0 when it was never migrated); for read-only readers. */
export function metadataSchemaVersion(db: Database): number {
  const hasTable = db.prepare<number>("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_versions'").pluck().get();
  if (!hasTable) return 0;
  return db.prepare<number>('SELECT version FROM schema_versions WHERE module = ?').pluck().get(METADATA_MODULE) ?? 0;
}
