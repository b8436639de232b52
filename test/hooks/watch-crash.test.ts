import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterEach, describe, expect, it } from 'vitest';
import { hooksDirectory } from '../../src/daemon/hooks/hooks-db.js';
import { jobCounts, readLocalHooksDb, until } from './support/hooks-db-reader.js';
import { sha256, writePhotoFolder } from './support/photos.js';
import { listFiles } from './support/tree.js';
import { startWatch, type WatchProcess } from './support/watch-process.js';

/**
 * Issue 6: "SIGKILL while 200 files are being processed: after restart
 * every file is processed exactly once", through the real CLI: 200 JPEGs in
 * a local watched folder with [metadata, thumbnails (2 sizes)], `storaged
 * watch` SIGKILLed (by pid) once some jobs are done and others running
 * (read from hooks.db, read-only), then started again until every job is
 * done. Then: one job per file, done, each step's result once; every
 * thumbnail exactly once; 200 rows in the metadata index; no staging left.
 */

const FILES = 200;
const WATCH = 'drop';
/** A hidden temporary sibling of a durable write (steps/files.ts temporarySibling): `<dir>/.<name>.<8 hex>.tmp`. */
const TEMPORARY = /^(.*\/|)\.([^/]+)\.[0-9a-f]{8}\.tmp$/;
const STEPS = ['stage', 'rules', 'metadata', 'thumbnails'];
const SIZES = [
  { name: '160x120', width: 160, height: 120 },
  { name: '64x64', width: 64, height: 48 }, // 640x480 fitted inside 64x64
];

let base: string | undefined;
let running: WatchProcess | undefined;

afterEach(async () => {
  await running?.stop(5000);
  running = undefined;
  if (base) await rm(base, { recursive: true, force: true });
  base = undefined;
});

function configText(dir: string): string {
  return (
    `cache: { dir: ${join(dir, 'cache')} }\n` +
    `hooks: { concurrency: 2, retry_delay: 0.2, max_retry_delay: 1 }\n` +
    `disks:\n  files: { driver: local, root: ${join(dir, 'files')} }\n` +
    `watch:\n  ${WATCH}:\n    local: ${join(dir, 'drop')}\n    stable_ms: 200\n` +
    `    rejected: ${join(dir, 'rejected')}\n    quarantine: ${join(dir, 'quarantine')}\n` +
    `    hooks:\n      - metadata\n` +
    `      - thumbnails: { to: thumbs, sizes: [{ width: 160, height: 120, fit: cover }, { width: 64, height: 64, fit: inside }] }\n`
  );
}

describe('storaged watch: SIGKILL while 200 files are being processed', { timeout: 90_000 }, () => {
  it.each([
    ['early', 10],
    ['late', 140],
  ])('killed %s (after %i jobs done), restarted: every file processed exactly once', async (_moment, killAfterDone) => {
    base = await mkdtemp(join(tmpdir(), 'storaged-watch-crash-'));
    const cacheDir = join(base, 'cache');
    const drop = join(base, 'drop');
    const configFile = join(base, 'config.yaml');
    await writeFile(configFile, configText(base));
    const photos = await writePhotoFolder(drop, FILES);
    expect(new Set(photos.values()).size).toBe(FILES);

    // First run: killed once enough jobs are done while others run.
    const first = startWatch(configFile);
    running = first;
    await first.ready();
    const atKill = await until(
      `${killAfterDone} jobs done and one running`,
      () => {
        const counts = jobCounts(cacheDir, WATCH);
        if (counts === undefined || (counts.done ?? 0) < killAfterDone || (counts.running ?? 0) === 0) return undefined;
        first.signal('SIGKILL');
        return counts;
      },
      45_000,
      first.output,
    );
    expect(await first.exited()).toEqual({ code: null, signal: 'SIGKILL' });
    const afterKill = jobCounts(cacheDir, WATCH)!;
    expect(afterKill.done, 'the kill came before every job was done').toBeLessThan(FILES);
    expect(afterKill.done).toBeGreaterThanOrEqual(atKill.done!);
    // The kill caught jobs mid-step: they are still 'running' in the record, bounded by the concurrency.
    expect(afterKill.running).toBeGreaterThan(0);
    expect(afterKill.running).toBeLessThanOrEqual(2);

    // Second run: resumes the interrupted jobs, picks up the rest, until all are done.
    const second = startWatch(configFile);
    running = second;
    await second.ready();
    await until('every job done', () => jobCounts(cacheDir, WATCH)?.done === FILES, 50_000, second.output);
    expect(await second.stop()).toEqual({ code: 0, signal: null });
    running = undefined;

    // One job per file, done, each step's result exactly once; the metadata index has each file once.
    readLocalHooksDb(cacheDir, (view) => {
      const jobs = view.jobs(WATCH);
      expect(jobs.map((job) => job.path).sort()).toEqual([...photos.keys()]);
      for (const job of jobs) {
        expect(job.state, job.path).toBe('done');
        expect(job.results.map((result) => result.step), job.path).toEqual(STEPS);
      }
      expect(view.store.counts().get(WATCH)).toMatchObject({ done: FILES, queued: 0, running: 0, failed: 0, rejected: 0, superseded: 0 });
      expect(view.metadataRows(WATCH)).toBe(FILES);
      const rows = view.db.prepare<{ path: string; sha256: string }>('SELECT path, sha256 FROM file_metadata WHERE watch = ?').all(WATCH);
      expect(new Map(rows.map((row) => [row.path, row.sha256]))).toEqual(photos);
    });

    // Every original untouched, every thumbnail exactly once (no ' (2)' copies, no leftover temporary files).
    const expected = [...photos.keys()].flatMap((path) => [path, ...SIZES.map((size) => `thumbs/${path.replace(/\.jpg$/, '')}.${size.name}.webp`)]);
    const present = await listFiles(drop);
    // A SIGKILL during a durable write (copy, fsync, rename) leaves its hidden temporary sibling
    // `.<name>.<8 hex>.tmp` behind: the restarted engine sweeps them before it runs anything.
    expect(present.filter((file) => TEMPORARY.test(file)), 'leftover temporary files').toEqual([]);
    expect(present.filter((file) => !expected.includes(file)), 'files that should not be there').toEqual([]);
    expect(expected.filter((file) => !present.includes(file)), 'files missing').toEqual([]);
    for (const [path, digest] of photos) expect(sha256(await readFile(join(drop, path))), path).toBe(digest);
    for (const size of SIZES) {
      const thumbnail = await sharp(join(drop, 'thumbs/batch-1/photo-001.' + size.name + '.webp')).metadata();
      expect([thumbnail.width, thumbnail.height]).toEqual([size.width, size.height]);
    }
    // Nothing refused, no staging folder left behind.
    expect(await listFiles(join(base, 'rejected'))).toEqual([]);
    expect(await listFiles(join(base, 'quarantine'))).toEqual([]);
    expect(await readdir(join(hooksDirectory(cacheDir, {}), 'staging')).catch(() => [])).toEqual([]);
  });
});
