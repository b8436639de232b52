import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, readdir, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pino } from 'pino';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FsError } from '../../../src/core/errors.js';
import { LocalDropFolder } from '../../../src/daemon/hooks/local-folder.js';
import { buildPipeline, type BuiltinHookSpec } from '../../../src/daemon/hooks/pipeline.js';
import { convertStep } from '../../../src/daemon/hooks/steps/convert.js';
import { metadataStep } from '../../../src/daemon/hooks/steps/metadata.js';
import { optimiseStep } from '../../../src/daemon/hooks/steps/optimise.js';
import { rulesStep } from '../../../src/daemon/hooks/steps/rules.js';
import { scanStep } from '../../../src/daemon/hooks/steps/scan.js';
import { stageStep } from '../../../src/daemon/hooks/steps/stage.js';
import { thumbnailsStep } from '../../../src/daemon/hooks/steps/thumbnails.js';
import { watermarkStep } from '../../../src/daemon/hooks/steps/watermark.js';
import type { FileMetadataRecord, HookJob, MetadataSink, Step, StepOutcome } from '../../../src/daemon/hooks/types.js';
import { createClamdScanner, type ClamdScanner } from '../../../src/processing/scan/index.js';
import { eicarTestFile, startClamd, type ClamdServer } from '../../support/servers/clamd.js';
import { CAMERA_EXIF, RED, cameraJpeg, near, pixelAt, pixelBomb, plainPng, scriptBytes, tinyPdf, truncatedJpeg, twelveMegapixelJpeg, watermarkPng } from './support/images.js';

const logger = pino({ level: 'silent' });
const EICAR_SIGNATURE = /^Test\.EICAR\.(NDB|HDB)(\.UNOFFICIAL)?$/;

let base: string;
let root: string;
let staging: string;
let folder: LocalDropFolder;
let photo12mp: Buffer;
let nextId = 1;

/** A real MetadataSink over a Map (the SQLite one is another helper's). */
class MapSink implements MetadataSink {
  readonly records = new Map<string, FileMetadataRecord>();
  upsert(record: FileMetadataRecord): void {
    this.records.set(`${record.watch}:${record.path}`, record);
  }
  remove(watch: string, path: string): void {
    this.records.delete(`${watch}:${path}`);
  }
}

/**
 * A folder at `<diskRoot>/<folderPath>` as the engine sees one inside a disk:
 * file paths relative to the folder, writeDerived targets relative to the disk.
 */
class DiskFolder extends LocalDropFolder {
  private readonly disk: LocalDropFolder;
  constructor(diskRoot: string, folderPath: string) {
    super('inbox', join(diskRoot, folderPath));
    this.disk = new LocalDropFolder('disk', diskRoot);
  }
  override writeDerived(target: string, from: string): Promise<void> {
    return this.disk.writeDerived(target, from);
  }
}

beforeAll(async () => {
  base = await mkdtemp(join(tmpdir(), 'storaged-steps-'));
  root = join(base, 'inbox');
  staging = join(base, 'staging');
  await mkdir(root);
  await mkdir(staging);
  folder = new LocalDropFolder('inbox', root);
  photo12mp = await twelveMegapixelJpeg();
});

afterAll(async () => {
  if (base) await rm(base, { recursive: true, force: true });
});

/** Puts `bytes` at `path` in the watched folder and returns a fresh job for that version. */
async function drop(path: string, bytes: Uint8Array): Promise<HookJob> {
  const full = join(root, path);
  await mkdir(dirname(full), { recursive: true });
  await writeFile(full, bytes);
  const info = await stat(full);
  const now = Date.now();
  return { id: nextId++, watch: 'inbox', path, size: info.size, mtimeMs: info.mtimeMs, state: 'running', step: 0, attempts: 0, nextAtMs: now, results: [], createdMs: now, updatedMs: now };
}

/**
 * Runs `steps` from job.step as the dispatcher does: stage gets input '',
 * each 'next' output becomes the next input, each finished step is appended
 * to results; stops at the first other outcome.
 */
async function run(steps: readonly Step[], start: HookJob): Promise<{ outcome: StepOutcome; job: HookJob }> {
  let job = start;
  const workDir = join(staging, String(job.id));
  await mkdir(workDir, { recursive: true });
  for (let index = job.step; index < steps.length; index++) {
    const step = steps[index]!;
    const began = Date.now();
    const outcome = await step.run({ job, folder, input: job.input ?? '', workDir, signal: new AbortController().signal, logger });
    if (outcome.kind !== 'next') return { outcome, job };
    const input = outcome.output ?? job.input;
    job = {
      ...job,
      step: index + 1,
      ...(input !== undefined ? { input } : {}),
      results: [...job.results, { step: step.name, ms: Date.now() - began, ...(outcome.detail ? { detail: outcome.detail } : {}) }],
    };
  }
  return { outcome: { kind: 'next' }, job };
}

/** Runs the stage step alone and returns the job ready for the next step. */
async function staged(job: HookJob): Promise<HookJob> {
  const { outcome, job: after } = await run([stageStep()], job);
  expect(outcome.kind).toBe('next');
  return after;
}

async function sizeOf(image: Buffer | string): Promise<{ width: number; height: number; format: string }> {
  const meta = await sharp(image).metadata();
  return { width: meta.width, height: meta.height, format: meta.format };
}

async function throws(promise: Promise<unknown>): Promise<FsError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(FsError);
  return err as FsError;
}

describe('stage', () => {
  it('copies the file into <workDir>/source and hands that path on; a re-run copies again', async () => {
    const bytes = randomBytes(300_000);
    const job = await drop('stage/a.bin', bytes);
    const after = await staged(job);
    expect(after.input).toBe(join(staging, String(job.id), 'source'));
    expect((await readFile(after.input!)).equals(bytes)).toBe(true);
    expect(after.results[0]).toMatchObject({ step: 'stage', detail: { bytes: bytes.length } });
    const again = await staged(job);
    expect((await readFile(again.input!)).equals(bytes)).toBe(true);
    expect((await readdir(join(staging, String(job.id)))).filter((n) => n.endsWith('.tmp'))).toEqual([]);
  });

  it('is superseded when the file is gone or has another size than the job', async () => {
    const gone = await drop('stage/gone.bin', randomBytes(10));
    await unlink(join(root, 'stage/gone.bin'));
    expect((await run([stageStep()], gone)).outcome).toMatchObject({ kind: 'superseded' });

    const grown = await drop('stage/grown.bin', randomBytes(10));
    await writeFile(join(root, 'stage/grown.bin'), randomBytes(20));
    const outcome = (await run([stageStep()], grown)).outcome;
    expect(outcome.kind).toBe('superseded');
    expect(outcome.kind === 'superseded' && outcome.reason).toMatch(/10 bytes.*20/);
  });
});

describe('rules', () => {
  const rules = rulesStep({ maxSize: 1_000_000, extensions: ['jpg', 'png', 'pdf'] });

  it('rejects a script named .jpg as a type mismatch, and lets it through when sniff is off', async () => {
    const job = await staged(await drop('rules/holiday.jpg', scriptBytes()));
    const { outcome } = await run([stageStep(), rules], { ...job, step: 1 });
    expect(outcome).toMatchObject({ kind: 'reject', rule: 'type-mismatch' });
    expect(outcome.kind === 'reject' && outcome.reason).toContain('holiday.jpg');
    const lax = await run([stageStep(), rulesStep({ extensions: ['jpg'], sniff: false })], { ...job, step: 1 });
    expect(lax.outcome.kind).toBe('next');
  });

  it('rejects by size and by extension, and passes a real JPEG with its sniffed type', async () => {
    const big = await staged(await drop('rules/big.pdf', Buffer.concat([tinyPdf(), randomBytes(1_000_001)])));
    expect((await run([stageStep(), rules], { ...big, step: 1 })).outcome).toMatchObject({ kind: 'reject', rule: 'max-size' });
    const exe = await staged(await drop('rules/tool.exe', randomBytes(100)));
    expect((await run([stageStep(), rules], { ...exe, step: 1 })).outcome).toMatchObject({ kind: 'reject', rule: 'extension' });
    const jpeg = await staged(await drop('rules/ok.jpg', await cameraJpeg({ width: 64, height: 48 })));
    const passed = await run([stageStep(), rules], { ...jpeg, step: 1 });
    expect(passed.outcome.kind).toBe('next');
    expect(passed.job.results.at(-1)?.detail).toMatchObject({ mime: 'image/jpeg' });
  });
});

describe('scan (real clamd with the test signatures)', () => {
  let clamd: ClamdServer;
  let scanner: ClamdScanner;

  beforeAll(async () => {
    clamd = await startClamd();
    scanner = createClamdScanner({ socket: { host: clamd.host, port: clamd.port }, timeoutMs: 10_000 });
  });
  afterAll(async () => {
    await clamd?.destroy();
  });

  it('quarantines EICAR with its signature and passes a clean file', async () => {
    const eicar = await staged(await drop('scan/eicar.com', eicarTestFile()));
    const infected = (await run([stageStep(), scanStep({ scanner })], { ...eicar, step: 1 })).outcome;
    expect(infected.kind).toBe('quarantine');
    expect(infected.kind === 'quarantine' && infected.signature).toMatch(EICAR_SIGNATURE);

    const clean = await staged(await drop('scan/clean.jpg', await cameraJpeg({ width: 64, height: 48 })));
    const passed = await run([stageStep(), scanStep({ scanner })], { ...clean, step: 1 });
    expect(passed.outcome.kind).toBe('next');
    expect(passed.job.results.at(-1)).toMatchObject({ step: 'scan', detail: { verdict: 'clean' } });
  });

  it('throws a retryable FsError while clamd is stopped, and passes once it is back', async () => {
    const job = await staged(await drop('scan/later.jpg', await cameraJpeg({ width: 64, height: 48 })));
    await clamd.stop();
    const err = await throws(run([stageStep(), scanStep({ scanner })], { ...job, step: 1 }));
    expect(err.code).toBe('ECONNREFUSED');
    await clamd.start();
    expect((await run([stageStep(), scanStep({ scanner })], { ...job, step: 1 })).outcome.kind).toBe('next');
  });

  it('throws EFBIG (a scan failure, never a pass) for a file over clamd’s stream limit', async () => {
    const job = await staged(await drop('scan/huge.bin', randomBytes(clamd.streamMaxLength + 4096)));
    const err = await throws(run([stageStep(), scanStep({ scanner })], { ...job, step: 1 }));
    expect(err.code).toBe('EFBIG');
  });
});

describe('thumbnails', () => {
  const sizes = [
    { width: 150, height: 150, fit: 'cover' as const },
    { width: 800, height: 600, fit: 'inside' as const },
    { width: 400, height: 400, fit: 'inside' as const },
  ];
  const step = thumbnailsStep({ to: 'thumbs', sizes, format: 'webp', quality: 80 });

  it('makes every size of a 12-MP JPEG with EXIF orientation 6, rotated, at <to>/<path>.<w>x<h>.webp', async () => {
    const job = await staged(await drop('2026/photo.jpg', photo12mp));
    const { outcome, job: after } = await run([stageStep(), step], { ...job, step: 1 });
    expect(outcome.kind).toBe('next');
    const expected = [
      { path: 'thumbs/2026/photo.150x150.webp', width: 150, height: 150 },
      { path: 'thumbs/2026/photo.800x600.webp', width: 450, height: 600 },
      { path: 'thumbs/2026/photo.400x400.webp', width: 300, height: 400 },
    ];
    expect(after.results.at(-1)?.detail?.thumbnails).toEqual(expected.map((e) => ({ ...e, format: 'webp', bytes: expect.any(Number) })));
    for (const e of expected) {
      expect(await sizeOf(join(root, e.path))).toEqual({ width: e.width, height: e.height, format: 'webp' });
    }
    // Orientation applied: the stored top-left red block displays top-right.
    const medium = await readFile(join(root, 'thumbs/2026/photo.800x600.webp'));
    expect(near(await pixelAt(medium, 440, 10), RED, 40)).toBe(true);
    expect(near(await pixelAt(medium, 10, 10), RED, 40)).toBe(false);
    // Deterministic: a re-run writes the same files.
    await run([stageStep(), step], { ...job, step: 1 });
    expect((await readFile(join(root, 'thumbs/2026/photo.800x600.webp'))).equals(medium)).toBe(true);
  });

  it('rejects a pixel bomb and a truncated JPEG with their reasons, and passes a PDF untouched', async () => {
    const bomb = await staged(await drop('bomb.png', pixelBomb()));
    const refused = (await run([stageStep(), step], { ...bomb, step: 1 })).outcome;
    expect(refused).toMatchObject({ kind: 'reject', rule: 'too-many-pixels' });
    expect(refused.kind === 'reject' && refused.reason).toMatch(/50000x50000/);

    const cut = await staged(await drop('cut.jpg', await truncatedJpeg()));
    expect((await run([stageStep(), step], { ...cut, step: 1 })).outcome).toMatchObject({ kind: 'reject', rule: 'truncated' });

    const pdf = await staged(await drop('doc.pdf', tinyPdf()));
    const passed = await run([stageStep(), step], { ...pdf, step: 1 });
    expect(passed.job.results.at(-1)?.detail).toEqual({ skipped: 'not an image', mime: 'application/pdf' });
    await expect(stat(join(root, 'thumbs/doc.150x150.webp'))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('refuses duplicated sizes and a `to` outside its root when built', () => {
    expect(() => thumbnailsStep({ to: 'thumbs', sizes: [sizes[0]!, { ...sizes[0]!, fit: 'inside' }] })).toThrow(FsError);
    expect(() => thumbnailsStep({ to: '../elsewhere', sizes })).toThrow(FsError);
  });
});

describe('optimise, convert, watermark', () => {
  let portrait: Buffer; // 1200x900 stored, orientation 6: displays 900x1200

  beforeAll(async () => {
    portrait = await cameraJpeg({ width: 1200, height: 900, orientation: 6 });
  });

  it('optimise scales down (orientation applied), replaces the folder file and hands its output on', async () => {
    const job = await staged(await drop('opt/p.jpg', portrait));
    const { outcome, job: after } = await run([stageStep(), optimiseStep({ maxWidth: 600, maxHeight: 600, quality: 80 })], { ...job, step: 1 });
    expect(outcome.kind).toBe('next');
    expect(after.input).toBe(join(staging, String(job.id), 'after-optimise'));
    const inFolder = await readFile(join(root, 'opt/p.jpg'));
    expect(inFolder.equals(await readFile(after.input!))).toBe(true);
    expect(await sizeOf(inFolder)).toEqual({ width: 450, height: 600, format: 'jpeg' });
    const detail = after.results.at(-1)?.detail;
    const info = await stat(join(root, 'opt/p.jpg'));
    expect(detail).toMatchObject({ width: 450, height: 600, written: [{ path: 'opt/p.jpg', size: info.size, mtimeMs: info.mtimeMs }] });
  });

  it('convert writes the new format beside the original, removes the original, and a re-run is harmless', async () => {
    const sink = new MapSink();
    sink.upsert({ watch: 'inbox', path: 'media/conv/p.jpg', size: 1, sha256: 'x', indexedAtMs: 0 });
    const step = convertStep({ format: 'webp', quality: 75, folderPath: 'media', metadata: sink });
    // A folder at <disk>/media: its files are under root/media, derived targets are disk-relative.
    const diskRoot = join(base, 'disk');
    const inDisk = new DiskFolder(diskRoot, 'media');
    const job = await drop('conv/p.jpg', portrait);
    await mkdir(join(diskRoot, 'media/conv'), { recursive: true });
    await writeFile(join(diskRoot, 'media/conv/p.jpg'), portrait);
    const stagedJob = await staged(job);
    const workDir = join(staging, String(job.id));
    const ctx = { job: stagedJob, folder: inDisk, input: stagedJob.input!, workDir, signal: new AbortController().signal, logger };
    const outcome = await step.run(ctx);
    expect(outcome).toMatchObject({ kind: 'next', output: join(workDir, 'after-convert'), detail: { convertedTo: 'conv/p.webp', format: 'webp', width: 900, height: 1200, removedOriginal: true } });
    expect(await sizeOf(join(diskRoot, 'media/conv/p.webp'))).toEqual({ width: 900, height: 1200, format: 'webp' });
    await expect(stat(join(diskRoot, 'media/conv/p.jpg'))).rejects.toMatchObject({ code: 'ENOENT' });
    expect(sink.records.has('inbox:media/conv/p.jpg')).toBe(false);
    const written = await stat(join(diskRoot, 'media/conv/p.webp'));
    expect(outcome.kind === 'next' && outcome.detail?.written).toEqual([{ path: 'conv/p.webp', size: written.size, mtimeMs: written.mtimeMs }]);
    // A resumed job repeats the step: same bytes again, the original already gone is fine.
    const again = await step.run(ctx);
    expect(again).toMatchObject({ kind: 'next', detail: { convertedTo: 'conv/p.webp' } });
    expect((await stat(join(diskRoot, 'media/conv/p.webp'))).size).toBe(written.size);
  });

  it('convert keeps the original when asked, skips an image already in the format and a non-image', async () => {
    const keep = convertStep({ format: 'png', keepOriginal: true });
    const job = await staged(await drop('keep/p.jpg', portrait));
    const { job: after } = await run([stageStep(), keep], { ...job, step: 1 });
    expect(after.results.at(-1)?.detail).toMatchObject({ convertedTo: 'keep/p.png', removedOriginal: false });
    expect((await sizeOf(join(root, 'keep/p.png'))).format).toBe('png');
    expect((await readFile(join(root, 'keep/p.jpg'))).equals(portrait)).toBe(true);

    const png = await staged(await drop('keep/q.png', await plainPng(64, 48)));
    expect((await run([stageStep(), keep], { ...png, step: 1 })).job.results.at(-1)?.detail).toEqual({ skipped: 'already png' });
    const pdf = await staged(await drop('keep/d.pdf', tinyPdf()));
    expect((await run([stageStep(), keep], { ...pdf, step: 1 })).job.results.at(-1)?.detail).toMatchObject({ skipped: 'not an image' });
  });

  it('watermark draws the mark at the position with its opacity and replaces the file', async () => {
    const markPath = join(base, 'mark.png');
    await writeFile(markPath, await watermarkPng());
    const job = await staged(await drop('wm/p.png', await plainPng(640, 480)));
    const { job: after } = await run([stageStep(), watermarkStep({ image: markPath, position: 'bottom-right', opacity: 1, margin: 10 })], { ...job, step: 1 });
    const result = await readFile(join(root, 'wm/p.png'));
    expect(result.equals(await readFile(after.input!))).toBe(true);
    expect(await sizeOf(result)).toEqual({ width: 640, height: 480, format: 'png' });
    const marked = await pixelAt(result, 640 - 10 - 100, 480 - 10 - 50);
    const untouched = await pixelAt(result, 20, 20);
    expect(near(untouched, { r: 10, g: 200, b: 30 }, 2)).toBe(true);
    // White at alpha 0.5 over (10,200,30): about (133,228,143).
    expect(near(marked, { r: 133, g: 228, b: 143 }, 6)).toBe(true);
  });

  it('watermark fails (EINVAL) rather than rejecting the file when the watermark picture itself is bad', async () => {
    const badMark = join(base, 'bad-mark.png');
    await writeFile(badMark, pixelBomb());
    const job = await staged(await drop('wm/q.png', await plainPng(64, 48)));
    const err = await throws(run([stageStep(), watermarkStep({ image: badMark })], { ...job, step: 1 }));
    expect(err.code).toBe('EINVAL');
    expect(err.message).toContain('bad-mark.png');
  });

  it('an image step rejects a truncated JPEG with its reason', async () => {
    const cut = await staged(await drop('bad/cut.jpg', await truncatedJpeg()));
    for (const step of [optimiseStep({ maxWidth: 100, maxHeight: 100 }), convertStep({ format: 'webp' })]) {
      expect((await run([stageStep(), step], { ...cut, step: 1 })).outcome).toMatchObject({ kind: 'reject', rule: 'truncated' });
    }
    expect((await readFile(join(root, 'bad/cut.jpg'))).length).toBe(cut.size);
  });
});

describe('metadata', () => {
  it('records size, type, sha256, displayed dimensions, camera, time and GPS of a camera JPEG', async () => {
    const sink = new MapSink();
    const job = await staged(await drop('meta/cam.jpg', photo12mp));
    const { job: after } = await run([stageStep(), metadataStep({ sink, disk: 'media', folderPath: 'inbox' })], { ...job, step: 1 });
    const record = sink.records.get('inbox:inbox/meta/cam.jpg');
    expect(record).toMatchObject({
      watch: 'inbox',
      disk: 'media',
      path: 'inbox/meta/cam.jpg',
      size: photo12mp.length,
      mime: 'image/jpeg',
      sha256: createHash('sha256').update(photo12mp).digest('hex'),
      width: 3000,
      height: 4000,
      camera: 'Canon EOS R5',
      takenAtMs: CAMERA_EXIF.takenAtUtc.getTime(),
    });
    expect(record?.gpsLatitude).toBeCloseTo(CAMERA_EXIF.latitude.decimal, 5);
    expect(record?.gpsLongitude).toBeCloseTo(CAMERA_EXIF.longitude.decimal, 5);
    expect(record?.extra).toMatchObject({ format: 'jpeg', orientation: 6, software: CAMERA_EXIF.software, gpsAltitude: 34.5 });
    expect(after.results.at(-1)?.detail).toEqual(JSON.parse(JSON.stringify(record)));
  });

  it('records a non-image with its type and hash only', async () => {
    const sink = new MapSink();
    const job = await staged(await drop('meta/doc.pdf', tinyPdf()));
    await run([stageStep(), metadataStep({ sink })], { ...job, step: 1 });
    const record = sink.records.get('inbox:meta/doc.pdf');
    expect(record).toMatchObject({ path: 'meta/doc.pdf', mime: 'application/pdf', size: tinyPdf().length });
    expect(record?.width).toBeUndefined();
    expect(record?.disk).toBeUndefined();
  });
});

describe('buildPipeline', () => {
  const sink = new MapSink();

  it('orders stage, rules, scan, then the hooks; names repeated hooks uniquely; plugs custom steps', () => {
    const scanner = createClamdScanner({ socket: { host: '127.0.0.1', port: 9 }, timeoutMs: 1000 });
    const custom: Step = { name: 'command', run: async () => ({ kind: 'next' }) };
    const steps = buildPipeline(
      {
        rules: { extensions: ['jpg'] },
        scan: true,
        hooks: [{ kind: 'metadata' }, { kind: 'optimise', maxWidth: 10, maxHeight: 10 }, { kind: 'command' }, { kind: 'optimise', maxWidth: 5, maxHeight: 5 }],
      },
      { scanner, metadata: sink, customSteps: (hook, name) => ({ ...custom, name: `${hook.kind}:${name}` }) },
    );
    expect(steps.map((s) => s.name)).toEqual(['stage', 'rules', 'scan', 'metadata', 'optimise', 'command:command', 'optimise-2']);
    expect(buildPipeline({ rules: { sniff: false }, hooks: [] }, { metadata: sink }).map((s) => s.name)).toEqual(['stage']);
    expect(() => buildPipeline({ scan: true, hooks: [] }, { metadata: sink })).toThrow(FsError);
    expect(() => buildPipeline({ hooks: [{ kind: 'module' }] }, { metadata: sink })).toThrow(FsError);
  });

  it('runs a whole pipeline on a 12-MP photo: convert then metadata indexes the converted file', async () => {
    const hooks: BuiltinHookSpec[] = [
      { kind: 'thumbnails', to: 'thumbs', sizes: [{ width: 200, height: 200, fit: 'cover' }], format: 'jpeg', quality: 70 },
      { kind: 'optimise', maxWidth: 2048, maxHeight: 2048, quality: 85 },
      { kind: 'convert', format: 'webp' },
      { kind: 'metadata' },
    ];
    const steps = buildPipeline({ rules: { extensions: ['jpg'], maxSize: 20_000_000 }, hooks }, { metadata: sink });
    const job = await drop('full/big.jpg', photo12mp);
    const { outcome, job: after } = await run(steps, job);
    expect(outcome.kind).toBe('next');
    expect(after.results.map((r) => r.step)).toEqual(['stage', 'rules', 'thumbnails', 'optimise', 'convert', 'metadata']);
    expect(await sizeOf(join(root, 'thumbs/full/big.200x200.jpeg'))).toEqual({ width: 200, height: 200, format: 'jpeg' });
    expect(await sizeOf(join(root, 'full/big.webp'))).toEqual({ width: 1536, height: 2048, format: 'webp' });
    await expect(stat(join(root, 'full/big.jpg'))).rejects.toMatchObject({ code: 'ENOENT' });
    expect(sink.records.get('inbox:full/big.webp')).toMatchObject({ mime: 'image/webp', width: 1536, height: 2048 });

    const script = await drop('full/evil.jpg', scriptBytes());
    expect((await run(steps, script)).outcome).toMatchObject({ kind: 'reject', rule: 'type-mismatch' });
  });
});
