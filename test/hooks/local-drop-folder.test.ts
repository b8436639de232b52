import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, open, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FileMetadataRecord, HookJob } from '../../src/daemon/hooks/types.js';
import { BLUE, RED, near, pixelAt, pixelBomb, scriptBytes, truncatedJpeg, twelveMegapixelJpeg } from '../daemon/hooks/support/images.js';
import { eicarTestFile, startClamd, type ClamdServer } from '../support/servers/clamd.js';
import { readLocalHooksDb, until } from './support/hooks-db-reader.js';
import { noisyJpeg, sha256 } from './support/photos.js';
import { listFiles } from './support/tree.js';
import { startWatch, type WatchProcess } from './support/watch-process.js';

/**
 * Issue 6 on a plain local drop folder, through the real CLI (`storaged
 * watch` as a child process) with a real clamd and real sharp: rules, scan,
 * metadata and thumbnails. What the engine did is read from its hooks.db
 * (read-only, while it runs) and from the folders themselves.
 */

const WATCH = 'drop';
const STABLE_MS = 400;
let clamd: ClamdServer;
let work: string;
let watch: WatchProcess | undefined;
const at = (...parts: string[]) => join(work, ...parts);

beforeAll(async () => {
  // Above the 12-megapixel photo: a refused size would hold it back forever (a scan failure is never a pass).
  clamd = await startClamd({ streamMaxLength: 32 * 1024 * 1024 });
  work = await mkdtemp(join(tmpdir(), 'storaged-local-drop-'));
  // Relative local paths resolve against the config file's folder.
  const config =
    `cache: { dir: cache }\n` +
    `clamd: { socket: ${clamd.socketPath}, timeout: 10 }\n` +
    `hooks: { concurrency: 2, retry_delay: 0.2, max_retry_delay: 1 }\n` +
    `disks:\n  files: { driver: local, root: files }\n` +
    `watch:\n  ${WATCH}:\n    local: drop\n    stable_ms: ${STABLE_MS}\n    scan: true\n` +
    `    rules: { max_size: 30MiB, sniff: true }\n    rejected: rejected\n    quarantine: quarantine\n` +
    `    hooks:\n      - metadata\n` +
    `      - thumbnails: { to: thumbs, sizes: [{ width: 150, height: 150, fit: cover }, { width: 800, height: 600, fit: inside }], format: webp, quality: 80 }\n`;
  await writeFile(at('config.yaml'), config);
  // A file already there before the watch starts.
  await mkdir(at('drop', 'old'), { recursive: true });
  await writeFile(at('drop', 'old', 'early.jpg'), await noisyJpeg(1, 320, 240));
  watch = startWatch(at('config.yaml'));
  await watch.ready();
}, 60_000);

afterAll(async () => {
  const exit = await watch?.stop();
  await clamd?.destroy();
  if (work) await rm(work, { recursive: true, force: true });
  // A clean stop exits 0 (checked last, so a failure above is not hidden by it).
  expect(exit).toEqual({ code: 0, signal: null });
});

/** Every job of the watch (read-only, while the watch runs). */
function jobs(): HookJob[] {
  return readLocalHooksDb(at('cache'), (view) => view.jobs(WATCH)) ?? [];
}

/** The only job of `path` once it satisfies `ready` (every job of the path is returned, to check there is one). */
async function jobOf(path: string, ready: (job: HookJob) => boolean, timeoutMs = 40_000): Promise<HookJob> {
  const found = await until(
    `the job of '${path}'`,
    () => {
      const ofPath = jobs().filter((job) => job.path === path);
      return ofPath.some(ready) ? ofPath : undefined;
    },
    timeoutMs,
    () => `${JSON.stringify(jobs().filter((job) => job.path === path), null, 1)}\n${watch?.output() ?? ''}`,
  );
  expect(found, `jobs of ${path}`).toHaveLength(1);
  return found[0]!;
}

const ended = (state: HookJob['state']) => (job: HookJob) => job.state === state;

/** The metadata index's record of `path`, if any. */
function metadataOf(path: string): FileMetadataRecord | undefined {
  return readLocalHooksDb(at('cache'), (view) => {
    const row = view.db.prepare<{ path: string; size: number; mime: string | null; sha256: string; width: number | null; height: number | null; camera: string | null }>(
      'SELECT path, size, mime, sha256, width, height, camera FROM file_metadata WHERE watch = ? AND path = ?',
    ).get(WATCH, path);
    if (row === undefined) return undefined;
    const record: FileMetadataRecord = { watch: WATCH, path: row.path, size: row.size, sha256: row.sha256, indexedAtMs: 0 };
    if (row.mime !== null) record.mime = row.mime;
    if (row.width !== null) record.width = row.width;
    if (row.height !== null) record.height = row.height;
    if (row.camera !== null) record.camera = row.camera;
    return record;
  });
}

async function reasonOf(file: string): Promise<Record<string, unknown>> {
  return JSON.parse(await readFile(`${file}.reason.json`, 'utf8')) as Record<string, unknown>;
}

async function dimensions(file: string): Promise<[number | undefined, number | undefined]> {
  const meta = await sharp(file).metadata();
  return [meta.width, meta.height];
}

/** The CLI's entry, run through tsx like startWatch does. */
const CLI_MAIN = join(import.meta.dirname, '../../src/cli/main.ts');

describe('storaged watch: a local drop folder with scan, rules, metadata and thumbnails', { timeout: 120_000 }, () => {
  it('processes the files that were already in the folder at start', async () => {
    const job = await jobOf('old/early.jpg', ended('done'));
    expect(job.results.map((result) => result.step)).toEqual(['stage', 'rules', 'scan', 'metadata', 'thumbnails']);
    expect(job.results.find((result) => result.step === 'scan')?.detail).toMatchObject({ verdict: 'clean' });
    expect(await dimensions(at('drop', 'thumbs', 'old', 'early.150x150.webp'))).toEqual([150, 150]);
    // 'inside' never enlarges: a 320x240 photo fits an 800x600 box as it is.
    expect(await dimensions(at('drop', 'thumbs', 'old', 'early.800x600.webp'))).toEqual([320, 240]);
    expect(metadataOf('old/early.jpg')).toMatchObject({ mime: 'image/jpeg', width: 320, height: 240, sha256: sha256(await readFile(at('drop', 'old', 'early.jpg'))) });
  });

  it('quarantines EICAR with its signature; its bytes are nowhere else', async () => {
    await writeFile(at('drop', 'eicar.com'), eicarTestFile());
    const job = await jobOf('eicar.com', ended('quarantined'));
    const quarantined = at('quarantine', 'eicar.com');
    expect(job.outcome).toMatchObject({ signature: expect.stringMatching(/^Test\.EICAR/), setAside: quarantined });
    expect((await readFile(quarantined)).equals(eicarTestFile())).toBe(true);
    expect(await reasonOf(quarantined)).toMatchObject({ watch: WATCH, path: 'eicar.com', signature: job.outcome?.signature });
    // Never hooked further: no thumbnail, no metadata, not left in the drop folder, not in rejected.
    expect(job.results.map((result) => result.step)).toEqual(['stage', 'rules']);
    expect(metadataOf('eicar.com')).toBeUndefined();
    const everything = await listFiles(work);
    const holding: string[] = [];
    for (const file of everything) if ((await readFile(at(file))).includes('EICAR-STANDARD-ANTIVIRUS-TEST-FILE')) holding.push(file);
    expect(holding).toEqual(['quarantine/eicar.com']);
  });

  it('rejects a script named .jpg (type mismatch) with a reason record', async () => {
    await writeFile(at('drop', 'holiday.jpg'), scriptBytes());
    const job = await jobOf('holiday.jpg', ended('rejected'));
    const rejected = at('rejected', 'holiday.jpg');
    expect(job.outcome).toMatchObject({ rule: 'type-mismatch', setAside: rejected });
    expect((await readFile(rejected)).equals(scriptBytes())).toBe(true);
    expect(await reasonOf(rejected)).toMatchObject({ watch: WATCH, path: 'holiday.jpg', rule: 'type-mismatch', reason: expect.stringContaining('holiday.jpg') });
    expect(existsSync(at('drop', 'holiday.jpg'))).toBe(false);
    expect(existsSync(at('quarantine', 'holiday.jpg'))).toBe(false);
  });

  it('makes every thumbnail of a 12-megapixel JPEG with EXIF orientation, rotated upright', async () => {
    const photo = await twelveMegapixelJpeg();
    await mkdir(at('drop', 'camera'));
    await writeFile(at('drop', 'camera', 'IMG_0001.jpg'), photo);
    const job = await jobOf('camera/IMG_0001.jpg', ended('done'), 60_000);
    const made = job.results.find((result) => result.step === 'thumbnails')?.detail?.thumbnails as { path: string; width: number; height: number }[];
    expect(made.map((t) => [t.path, t.width, t.height])).toEqual([
      ['thumbs/camera/IMG_0001.150x150.webp', 150, 150],
      ['thumbs/camera/IMG_0001.800x600.webp', 450, 600],
    ]);
    const cover = await readFile(at('drop', 'thumbs', 'camera', 'IMG_0001.150x150.webp'));
    const inside = await readFile(at('drop', 'thumbs', 'camera', 'IMG_0001.800x600.webp'));
    expect(await dimensions(at('drop', 'thumbs', 'camera', 'IMG_0001.150x150.webp'))).toEqual([150, 150]);
    // Stored 4000x3000 with orientation 6: displayed portrait 3000x4000, the red block top-right.
    expect(await dimensions(at('drop', 'thumbs', 'camera', 'IMG_0001.800x600.webp'))).toEqual([450, 600]);
    expect(near(await pixelAt(inside, 440, 10), RED)).toBe(true);
    expect(near(await pixelAt(inside, 10, 10), BLUE)).toBe(true);
    expect(near(await pixelAt(inside, 440, 590), BLUE)).toBe(true);
    expect(near(await pixelAt(cover, 140, 4), RED)).toBe(true);
    expect(near(await pixelAt(cover, 10, 140), BLUE)).toBe(true);
    expect(metadataOf('camera/IMG_0001.jpg')).toMatchObject({ mime: 'image/jpeg', camera: 'Canon EOS R5', sha256: sha256(photo), size: photo.length });
    // The original stays as it was.
    expect(sha256(await readFile(at('drop', 'camera', 'IMG_0001.jpg')))).toBe(sha256(photo));
  });

  it('rejects a pixel bomb and a truncated JPEG with reasons', async () => {
    await writeFile(at('drop', 'bomb.png'), pixelBomb());
    await writeFile(at('drop', 'cut.jpg'), await truncatedJpeg());
    for (const name of ['bomb.png', 'cut.jpg']) {
      const job = await jobOf(name, ended('rejected'));
      const rejected = at('rejected', name);
      expect(job.outcome, name).toMatchObject({ rule: expect.any(String), reason: expect.any(String), setAside: rejected });
      const reason = await reasonOf(rejected);
      expect(reason, name).toMatchObject({ path: name, rule: job.outcome?.rule, reason: job.outcome?.reason });
      expect(existsSync(at('drop', name)), name).toBe(false);
      expect((await listFiles(at('drop', 'thumbs'))).filter((file) => file.startsWith(name.replace(/\.\w+$/, '.'))), name).toEqual([]);
      // The metadata step ran before the refusal: the record went with the file.
      expect(metadataOf(name), name).toBeUndefined();
    }
    expect(jobs().find((job) => job.path === 'bomb.png')?.outcome?.rule).toMatch(/pixel/);
    expect(jobs().find((job) => job.path === 'cut.jpg')?.outcome?.rule).toMatch(/truncat|corrupt|invalid/);
  });

  it('processes a slowly written file once, after it stopped growing', async () => {
    const bytes = await noisyJpeg(7, 800, 600);
    const chunks = 8;
    const file = await open(at('drop', 'slow.jpg'), 'w');
    let lastWriteMs = 0;
    try {
      for (let i = 0; i < chunks; i++) {
        const from = Math.floor((bytes.length * i) / chunks);
        await file.write(bytes.subarray(from, Math.floor((bytes.length * (i + 1)) / chunks)));
        lastWriteMs = Date.now();
        // Half the stability window between writes: the file never looks complete while it grows.
        if (i < chunks - 1) await new Promise((r) => setTimeout(r, STABLE_MS / 2));
      }
    } finally {
      await file.close();
    }
    const job = await jobOf('slow.jpg', ended('done'));
    expect(job.size).toBe(bytes.length);
    expect(job.createdMs).toBeGreaterThanOrEqual(lastWriteMs);
    expect(metadataOf('slow.jpg')).toMatchObject({ sha256: sha256(bytes), width: 800, height: 600 });
    // Still one job a while later: the finished file is not taken up again.
    await new Promise((r) => setTimeout(r, STABLE_MS * 2));
    expect(jobs().filter((j) => j.path === 'slow.jpg')).toHaveLength(1);
  });

  it('holds a file while clamd is down (retried, never passed) and processes it once clamd is back', async () => {
    await clamd.stop();
    const bytes = await noisyJpeg(9, 640, 480);
    await writeFile(at('drop', 'waiting.jpg'), bytes);
    const failing = await jobOf('waiting.jpg', (job) => job.attempts >= 2);
    expect(['queued', 'running']).toContain(failing.state);
    expect(failing.lastError?.code).toBe('ECONNREFUSED');
    expect(failing.results.map((result) => result.step)).toEqual(['stage', 'rules']);
    // Nothing past the scan ran: no metadata, no thumbnail; the file is where it was.
    expect(metadataOf('waiting.jpg')).toBeUndefined();
    expect(existsSync(at('drop', 'thumbs', 'waiting.150x150.webp'))).toBe(false);
    expect(existsSync(at('drop', 'waiting.jpg'))).toBe(true);

    await clamd.start();
    const job = await jobOf('waiting.jpg', ended('done'));
    expect(job.results.map((result) => result.step)).toEqual(['stage', 'rules', 'scan', 'metadata', 'thumbnails']);
    expect(existsSync(at('drop', 'thumbs', 'waiting.150x150.webp'))).toBe(true);
    expect(metadataOf('waiting.jpg')).toMatchObject({ sha256: sha256(bytes) });
  });

  it('refuses a second storaged watch of the same folders (EBUSY) and a config without local folders (EINVAL)', async () => {
    const second = startWatch(at('config.yaml'));
    expect((await second.exited()).code).not.toBe(0);
    expect(second.output()).toMatch(/already being run by another storaged watch \(process \d+\).*\[EBUSY\]/);
    await writeFile(at('disks-only.yaml'), `cache: { dir: cache }\ndisks:\n  files: { driver: local, root: files }\n`);
    const none = startWatch(at('disks-only.yaml'));
    expect((await none.exited()).code).not.toBe(0);
    expect(none.output()).toMatch(/no local watched folder is configured.*\[EINVAL\]/);
  });

  it('storaged status shows the local folders\' jobs while storaged watch runs', async () => {
    const status = await new Promise<{ code: number | null; stdout: string }>((done) => {
      const child = execFile(process.execPath, ['--import', 'tsx', CLI_MAIN, 'status', '--config', at('config.yaml')], { env: { ...process.env, STORAGED_CONFIG: '' } }, (_err, stdout) =>
        done({ code: child.exitCode, stdout }),
      );
    });
    expect(status.code).toBe(0);
    expect(status.stdout).toContain('local watched folders (storaged watch)');
    expect(status.stdout).toMatch(new RegExp(`watch ${WATCH}\\s+\\d+ done, \\d+ rejected, \\d+ quarantined; \\d+ running`));
  });

  it('left no staging folder and nothing it should not have', async () => {
    const all = jobs();
    expect(all.filter((job) => job.state === 'queued' || job.state === 'running')).toEqual([]);
    expect(all.filter((job) => job.state === 'failed' || job.state === 'superseded')).toEqual([]);
    expect((await listFiles(at('cache', 'local-watches', 'staging'))).length).toBe(0);
    expect(await listFiles(at('rejected'))).toEqual(expect.arrayContaining(['bomb.png', 'bomb.png.reason.json', 'cut.jpg', 'cut.jpg.reason.json', 'holiday.jpg', 'holiday.jpg.reason.json']));
  });
});
