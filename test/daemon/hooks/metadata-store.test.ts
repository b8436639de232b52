import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FsError } from '../../../src/core/errors.js';
import { openDatabase, type Database } from '../../../src/daemon/db.js';
import { METADATA_MIGRATIONS, METADATA_MODULE, migrateMetadataSchema } from '../../../src/daemon/hooks/metadata-schema.js';
import { MetadataStore, openMetadataReader } from '../../../src/daemon/hooks/metadata-store.js';
import type { FileMetadataRecord } from '../../../src/daemon/hooks/types.js';

const temp = mkdtempSync(join(tmpdir(), 'storaged-metadata-'));
const MiB = 2 ** 20;
const at = (text: string) => Date.parse(text);
const sha = (char: string) => char.repeat(64);

/** A few files of two watches on two disks and a local folder, with and without EXIF. */
const RECORDS: FileMetadataRecord[] = [
  {
    watch: 'inbox', disk: 'media', path: 'inbox/2024/beach.jpg', size: 3 * MiB, mime: 'image/jpeg', sha256: sha('a'),
    width: 4000, height: 3000, camera: 'Canon EOS R5', takenAtMs: at('2024-07-14T16:20:00Z'), gpsLatitude: 43.3, gpsLongitude: 5.4,
    extra: { exif: { iso: 100 } }, indexedAtMs: 1,
  },
  {
    watch: 'inbox', disk: 'media', path: 'inbox/2023/Snow.JPG', size: 2 * MiB, mime: 'image/jpeg', sha256: sha('b'),
    width: 6000, height: 4000, camera: 'NIKON Z 6', takenAtMs: at('2023-12-31T23:59:59Z'), indexedAtMs: 2,
  },
  { watch: 'inbox', disk: 'media', path: 'inbox/diagram.png', size: 80_000, mime: 'image/png', sha256: sha('c'), width: 800, height: 600, indexedAtMs: 3 },
  { watch: 'inbox', disk: 'media', path: 'inbox/report.pdf', size: 500_000, mime: 'application/pdf', sha256: sha('d'), indexedAtMs: 4 },
  {
    watch: 'scans', disk: 'archive', path: 'scans/receipt_01.jpg', size: 400_000, mime: 'image/jpeg', sha256: sha('e'),
    width: 1200, height: 1600, camera: 'Canon PowerShot', takenAtMs: at('2024-01-01T12:00:00Z'), indexedAtMs: 5,
  },
  { watch: 'drop', path: 'notes.txt', size: 12, sha256: sha('f'), indexedAtMs: 6 },
];

let db: Database;
let store: MetadataStore;

beforeAll(() => {
  db = openDatabase(join(temp, 'hooks.db'));
  store = new MetadataStore(db);
  for (const record of RECORDS) store.upsert(record);
});

afterAll(() => {
  db.close();
  rmSync(temp, { recursive: true, force: true });
});

/** Paths found by `query` (ordered as search orders them: by path). */
function paths(query: string, options: Parameters<MetadataStore['search']>[1] = {}): string[] {
  return store.search(query, options).map((record) => record.path);
}

describe('MetadataStore', () => {
  it('migrates its own module and keeps every field of a record', () => {
    expect(db.prepare('SELECT version FROM schema_versions WHERE module = ?').pluck().get(METADATA_MODULE)).toBe(METADATA_MIGRATIONS.length);
    expect(store.get('inbox', 'inbox/2024/beach.jpg')).toEqual(RECORDS[0]);
    expect(store.get('drop', 'notes.txt')).toEqual(RECORDS[5]);
    expect(store.get('drop', 'missing.txt')).toBeUndefined();
    migrateMetadataSchema(db); // idempotent
  });

  it('upsert replaces the record of (watch, path); remove forgets it', () => {
    store.upsert({ watch: 'drop', path: 'tmp.bin', size: 1, sha256: sha('0'), indexedAtMs: 10 });
    store.upsert({ watch: 'drop', path: 'tmp.bin', size: 2, sha256: sha('1'), mime: 'application/octet-stream', indexedAtMs: 11 });
    expect(store.search('name:tmp.bin')).toEqual([{ watch: 'drop', path: 'tmp.bin', size: 2, sha256: sha('1'), mime: 'application/octet-stream', indexedAtMs: 11 }]);
    store.remove('drop', 'tmp.bin');
    store.remove('drop', 'tmp.bin'); // already gone is fine
    expect(store.search('name:tmp.bin')).toEqual([]);
  });

  it('the issue example: type:image/jpeg taken>2024-01-01', () => {
    expect(paths('type:image/jpeg taken>2024-01-01')).toEqual(['inbox/2024/beach.jpg']);
    expect(paths('type:image/jpeg taken>=2024-01-01')).toEqual(['inbox/2024/beach.jpg', 'scans/receipt_01.jpg']);
  });

  it('text fields: type wildcards, names, extensions, paths, camera, sha256', () => {
    expect(paths('type:image/*')).toEqual(['inbox/2023/Snow.JPG', 'inbox/2024/beach.jpg', 'inbox/diagram.png', 'scans/receipt_01.jpg']);
    expect(paths('type:IMAGE/PNG')).toEqual(['inbox/diagram.png']);
    expect(paths('type:application')).toEqual(['inbox/report.pdf']);
    expect(paths('name:*.jpg')).toEqual(['inbox/2023/Snow.JPG', 'inbox/2024/beach.jpg', 'scans/receipt_01.jpg']);
    expect(paths('name:snow.jpg')).toEqual(['inbox/2023/Snow.JPG']);
    expect(paths('ext:JPG')).toEqual(['inbox/2023/Snow.JPG', 'inbox/2024/beach.jpg', 'scans/receipt_01.jpg']);
    expect(paths('path:inbox/2024/*')).toEqual(['inbox/2024/beach.jpg']);
    expect(paths('path:INBOX/*')).toEqual([]); // paths are case-sensitive
    expect(paths('path:notes.txt')).toEqual(['notes.txt']);
    expect(paths('camera:canon*')).toEqual(['inbox/2024/beach.jpg', 'scans/receipt_01.jpg']);
    expect(paths('camera:"canon eos r5"')).toEqual(['inbox/2024/beach.jpg']);
    expect(paths(`sha256:${sha('D')}`)).toEqual(['inbox/report.pdf']);
  });

  it('bare words are case-insensitive substrings of the name; LIKE wildcards in them are literal', () => {
    expect(paths('SNOW')).toEqual(['inbox/2023/Snow.JPG']);
    expect(paths('receipt_')).toEqual(['scans/receipt_01.jpg']);
    expect(paths('receip__01')).toEqual([]); // '_' is not "any character"
    expect(paths('2024')).toEqual([]); // the folder is not the name
  });

  it('numbers: sizes with units, dimensions, date ranges', () => {
    expect(paths('size>1MiB')).toEqual(['inbox/2023/Snow.JPG', 'inbox/2024/beach.jpg']);
    expect(paths('size:100KB..1MB')).toEqual(['inbox/report.pdf', 'scans/receipt_01.jpg']);
    expect(paths('size:12')).toEqual(['notes.txt']);
    expect(paths('width>=4000 height<4000')).toEqual(['inbox/2024/beach.jpg']);
    expect(paths('taken:2023')).toEqual(['inbox/2023/Snow.JPG']);
    expect(paths('taken:2024-01-01..2024-12-31')).toEqual(['inbox/2024/beach.jpg', 'scans/receipt_01.jpg']);
    expect(paths('taken<=2023-12-31')).toEqual(['inbox/2023/Snow.JPG']);
    expect(paths('taken:2024-07-14T18:20+02:00')).toEqual(['inbox/2024/beach.jpg']);
  });

  it('gps, negation (a missing field matches the negation), OR', () => {
    expect(paths('gps:yes')).toEqual(['inbox/2024/beach.jpg']);
    expect(paths('gps:no type:image/*')).toEqual(['inbox/2023/Snow.JPG', 'inbox/diagram.png', 'scans/receipt_01.jpg']);
    expect(paths('-camera:canon*')).toEqual(['inbox/2023/Snow.JPG', 'inbox/diagram.png', 'inbox/report.pdf', 'notes.txt']);
    expect(paths('-type:image/*')).toEqual(['inbox/report.pdf', 'notes.txt']);
    expect(paths('-taken<2024-01-01 -size<1KB')).toEqual(['inbox/2024/beach.jpg', 'inbox/diagram.png', 'inbox/report.pdf', 'scans/receipt_01.jpg']);
    expect(paths('ext:png OR ext:pdf')).toEqual(['inbox/diagram.png', 'inbox/report.pdf']);
    expect(paths('ext:png OR ext:pdf size>100KB')).toEqual(['inbox/report.pdf']);
  });

  it('scopes by disk and watch, limits, and the empty query lists everything', () => {
    expect(paths('', { disk: 'archive' })).toEqual(['scans/receipt_01.jpg']);
    expect(paths('type:image/jpeg', { watch: 'inbox' })).toEqual(['inbox/2023/Snow.JPG', 'inbox/2024/beach.jpg']);
    expect(paths('', { watch: 'drop' })).toEqual(['notes.txt']);
    expect(paths('', { disk: 'media', watch: 'scans' })).toEqual([]);
    expect(paths('disk:archive OR watch:drop')).toEqual(['notes.txt', 'scans/receipt_01.jpg']);
    expect(paths('')).toHaveLength(RECORDS.length);
    expect(paths('', { limit: 2 })).toEqual(['inbox/2023/Snow.JPG', 'inbox/2024/beach.jpg']);
  });

  it('a bad query or limit is EINVAL', () => {
    expect(() => store.search('colour:red')).toThrow(expect.objectContaining({ code: 'EINVAL' }));
    expect(() => store.search('', { limit: -1 })).toThrow(expect.objectContaining({ code: 'EINVAL' }));
  });
});

describe('openMetadataReader', () => {
  it('reads the index read-only while the writer keeps it open, and sees later writes', () => {
    const reader = openMetadataReader(join(temp, 'hooks.db'))!;
    try {
      expect(reader.store.search('type:image/jpeg taken>2024-01-01').map((r) => r.path)).toEqual(['inbox/2024/beach.jpg']);
      store.upsert({ watch: 'drop', path: 'late.jpg', size: 5, mime: 'image/jpeg', sha256: sha('9'), takenAtMs: at('2025-01-01T00:00:00Z'), indexedAtMs: 20 });
      expect(reader.store.search('type:image/jpeg taken>2024-01-01').map((r) => r.path)).toEqual(['inbox/2024/beach.jpg', 'late.jpg']);
      expect(() => reader.store.upsert(RECORDS[0]!)).toThrow(expect.objectContaining({ code: 'EROFS' }));
    } finally {
      reader.close();
      store.remove('drop', 'late.jpg');
    }
  });

  it('no file: undefined; a database never migrated: empty; a newer index or a non-database: EIO', () => {
    expect(openMetadataReader(join(temp, 'none.db'))).toBeUndefined();

    const bare = openDatabase(join(temp, 'bare.db'));
    bare.close();
    const reader = openMetadataReader(join(temp, 'bare.db'))!;
    expect(reader.store.search('type:image/*')).toEqual([]);
    expect(() => reader.store.search('colour:red')).toThrow(expect.objectContaining({ code: 'EINVAL' }));
    reader.close();

    const newer = openDatabase(join(temp, 'newer.db'));
    newer.prepare('INSERT INTO schema_versions (module, version) VALUES (?, ?)').run(METADATA_MODULE, METADATA_MIGRATIONS.length + 1);
    newer.close();
    expect(() => openMetadataReader(join(temp, 'newer.db'))).toThrow(expect.objectContaining({ code: 'EIO' }));

    writeFileSync(join(temp, 'junk.db'), 'this is not a database, just some text that is long enough'.repeat(20));
    let err: unknown;
    try {
      openMetadataReader(join(temp, 'junk.db'));
    } catch (caught) {
      err = caught;
    }
    expect(err).toBeInstanceOf(FsError);
    expect((err as FsError).code).toBe('EIO');
  });
});
