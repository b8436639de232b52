import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type Database } from '../../src/daemon/db.js';
import { HOOKS_DB_FILE, hooksDirectory } from '../../src/daemon/hooks/hooks-db.js';
import { MetadataStore } from '../../src/daemon/hooks/metadata-store.js';
import type { FileMetadataRecord } from '../../src/daemon/hooks/types.js';
import { buildCli, hasStackTrace, type CliRunner } from '../support/cli.js';

const temp = mkdtempSync(join(tmpdir(), 'storaged-search-'));
const configPath = join(temp, 'config.yaml');
const emptyConfigPath = join(temp, 'empty-cache.yaml');
const MiB = 2 ** 20;
const at = (text: string) => Date.parse(text);

/** Files of two disks' watched folders and of a local folder named like a disk. */
const RECORDS: FileMetadataRecord[] = [
  {
    watch: 'inbox', disk: 'media', path: 'inbox/2024/beach.jpg', size: 3 * MiB, mime: 'image/jpeg', sha256: 'a'.repeat(64),
    width: 4000, height: 3000, camera: 'Canon EOS R5', takenAtMs: at('2024-07-14T16:20:00Z'), gpsLatitude: 43.3, gpsLongitude: 5.4, indexedAtMs: 1,
  },
  {
    watch: 'inbox', disk: 'media', path: 'inbox/2023/snow.jpg', size: 2 * MiB, mime: 'image/jpeg', sha256: 'b'.repeat(64),
    width: 6000, height: 4000, camera: 'NIKON Z 6', takenAtMs: at('2023-12-31T10:00:00Z'), indexedAtMs: 2,
  },
  { watch: 'inbox', disk: 'media', path: 'inbox/report.pdf', size: 500_000, mime: 'application/pdf', sha256: 'c'.repeat(64), indexedAtMs: 3 },
  {
    watch: 'scans', disk: 'archive', path: 'scans/receipt.jpg', size: 400_000, mime: 'image/jpeg', sha256: 'd'.repeat(64),
    width: 1200, height: 1600, takenAtMs: at('2024-03-01T09:00:00Z'), indexedAtMs: 4,
  },
  { watch: 'archive', path: 'old/letter.pdf', size: 9000, mime: 'application/pdf', sha256: 'e'.repeat(64), indexedAtMs: 5 },
];

let storaged: CliRunner;
/** One writer per hooks database: a disk's in its cache folder, the local folders' in local-watches (hooksDirectory). */
const writers = new Map<string, Database>();

beforeAll(async () => {
  storaged = await buildCli(temp);
  mkdirSync(join(temp, 'media'));
  mkdirSync(join(temp, 'drop'));
  const disks = `disks:
  media: { driver: local, root: media }
  archive: { driver: memory }
`;
  writeFileSync(
    configPath,
    `default: media
cache: { dir: cache }
${disks}watch:
  inbox: { disk: media, path: inbox, hooks: [metadata] }
  scans: { disk: archive, path: scans, hooks: [metadata] }
  archive: { local: drop, hooks: [metadata] }
`,
  );
  writeFileSync(emptyConfigPath, `default: media\ncache: { dir: other-cache }\n${disks}`);
  // The indexes as running engines leave them: written by the store, the writers still connected.
  for (const record of RECORDS) {
    const file = join(hooksDirectory(join(temp, 'cache'), record), HOOKS_DB_FILE);
    if (!writers.has(file)) writers.set(file, openDatabase(file));
    new MetadataStore(writers.get(file)!).upsert(record);
  }
});

afterAll(() => {
  for (const writer of writers.values()) writer.close();
  rmSync(temp, { recursive: true, force: true });
});

/** The PATH column of a table. */
function listedPaths(stdout: string): string[] {
  return stdout
    .trim()
    .split('\n')
    .slice(1)
    .filter((line) => !line.startsWith('('))
    .map((line) => line.split(/\s{2,}/)[0]!);
}

describe('storaged search', { timeout: 120_000 }, () => {
  it("finds the issue's example on a disk, as a table", async () => {
    const run = await storaged(['search', 'media', 'type:image/jpeg taken>2024-01-01', '--config', configPath]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const lines = run.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^PATH\s+TYPE\s+SIZE\s+DIMENSIONS\s+TAKEN\s+CAMERA$/);
    expect(lines.slice(1)).toHaveLength(1);
    expect(lines[1]).toMatch(/^inbox\/2024\/beach\.jpg\s+image\/jpeg\s+3\.0 MiB\s+4000x3000\s+2024-07-14 16:20:00\s+Canon EOS R5$/);
  });

  it('prints JSON records with --json', async () => {
    const run = await storaged(['--config', configPath, 'search', 'media', 'type:image/*', '--json']);
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual([RECORDS[1], RECORDS[0]]);
  });

  it('a watch name limits the search to that folder; a name that is a disk and a watch matches either', async () => {
    const scans = await storaged(['search', 'scans', '', '--config', configPath]);
    expect(scans.code).toBe(0);
    expect(listedPaths(scans.stdout)).toEqual(['scans/receipt.jpg']);
    const both = await storaged(['search', 'archive', '--config', configPath]);
    expect(listedPaths(both.stdout)).toEqual(['old/letter.pdf', 'scans/receipt.jpg']);
    const pdfs = await storaged(['search', 'archive', 'ext:pdf', '--config', configPath]);
    expect(listedPaths(pdfs.stdout)).toEqual(['old/letter.pdf']);
  });

  it('takes the query as several words, a negated first term included, and honours --limit', async () => {
    const negated = await storaged(['search', 'media', '-type:image/*', '--config', configPath]);
    expect(negated.code).toBe(0);
    expect(listedPaths(negated.stdout)).toEqual(['inbox/report.pdf']);
    const words = await storaged(['search', 'media', 'ext:jpg', 'OR', 'ext:pdf', 'size>1MB', '--config', configPath]);
    expect(listedPaths(words.stdout)).toEqual(['inbox/2023/snow.jpg', 'inbox/2024/beach.jpg']);
    const limited = await storaged(['search', 'media', '--limit', '1', '--config', configPath]);
    expect(limited.code).toBe(0);
    expect(listedPaths(limited.stdout)).toEqual(['inbox/2023/snow.jpg']);
    expect(limited.stdout).toContain('more match: raise --limit');
  });

  it('says so, exit 0, when nothing matches or nothing was ever indexed (and creates no database)', async () => {
    const none = await storaged(['search', 'media', 'camera:Leica*', '--config', configPath]);
    expect(none.code).toBe(0);
    expect(none.stdout).toBe('no files match\n');
    const json = await storaged(['search', 'media', 'camera:Leica*', '--json', '--config', configPath]);
    expect(JSON.parse(json.stdout)).toEqual([]);
    const empty = await storaged(['search', 'media', 'type:image/*', '--config', emptyConfigPath]);
    expect(empty.code).toBe(0);
    expect(empty.stdout).toBe('no files match\n');
    expect(existsSync(join(temp, 'other-cache', 'hooks.db'))).toBe(false);
  });

  it('refuses a name that is neither a disk nor a watch, and a bad query, with one line and no stack', async () => {
    const unknown = await storaged(['search', 'photos', 'type:image/*', '--config', configPath]);
    expect(unknown.code).toBe(1);
    expect(unknown.stdout).toBe('');
    expect(unknown.stderr).toMatch(/^storaged: 'photos' is neither a configured disk nor a watched folder.*disks: media, archive; watched folders: inbox, scans, archive \[EINVAL\]\n$/);
    const bad = await storaged(['search', 'media', 'colour:red', '--config', configPath]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^storaged: unknown field 'colour' at 1 .*\[EINVAL\]\n$/);
    expect(hasStackTrace(bad.stderr + unknown.stderr)).toBe(false);
    const limit = await storaged(['search', 'media', '--limit', 'lots', '--config', configPath]);
    expect(limit.code).toBe(2);
    // The index was only read: the writer's rows are all still there.
    let rows = 0;
    for (const [file, writer] of writers) {
      rows += writer.prepare<number>('SELECT count(*) FROM file_metadata').pluck().get()!;
      expect(readFileSync(file).length).toBeGreaterThan(0);
    }
    expect(rows).toBe(RECORDS.length);
  });
});
