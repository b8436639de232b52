import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import sharp from 'sharp';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { FsError } from '../../src/core/errors.js';
import { createS3Driver } from '../../src/drivers/s3/index.js';
import { watermark } from '../../src/processing/images/index.js';
import { Disk } from '../../src/storage/disk.js';
import { StorageManager } from '../../src/storage/manager.js';
import {
  UploadHandler,
  UploadRejectedError,
  createUploadHandler,
  type StagedUpload,
  type UploadConfig,
  type UploadOptions,
  type UploadProgress,
} from '../../src/storage/index.js';
import { expectCode, expectSyncCode } from '../conformance/support.js';
import { BLUE, CAMERA_EXIF, RED, cameraJpeg, near, pixelAt, pngBomb, solidImage } from '../processing/support/images.js';
import { eicarTestFile, startClamd, type ClamdServer } from '../support/servers/clamd.js';
import { S3RVER_OVERRIDES, listBucketKeys, objectSha256, s3rverClient, s3rverDiskConfig, startS3rver, type S3rver } from '../support/servers/s3rver.js';
import { expectRejected, lazyStream, leftIn, storedFiles, tinyPdf } from './support/upload-fixtures.js';

const MiB = 1024 * 1024;
/** clamd appends `.UNOFFICIAL` to signatures from an unsigned database like ours. */
const EICAR_SIGNATURE = /^Test\.EICAR\.(NDB|HDB)(\.UNOFFICIAL)?$/;

let clamd: ClamdServer;
let base: string;
/** The handlers' tempDir: must be empty after every upload, whatever its outcome. */
let tempDir: string;
/** 1600x1200 stored, EXIF orientation 6: displays as 1200x1600 portrait with the red block top-right. */
let photo: Buffer;

const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');
/** `bytes` as a stream of 64 KiB chunks (what an HTTP body parser hands over). */
const streamOf = (bytes: Buffer): Readable => Readable.from((function* () {
  for (let at = 0; at < bytes.length; at += 64 * 1024) yield bytes.subarray(at, at + 64 * 1024);
})());

beforeAll(async () => {
  [clamd, photo] = await Promise.all([startClamd(), cameraJpeg({ width: 1600, height: 1200, orientation: 6 })]);
  base = await mkdtemp(join(tmpdir(), 'storaged-upload-test-'));
  tempDir = join(base, 'staging');
});

afterAll(async () => {
  await clamd?.destroy();
  if (base) await rm(base, { recursive: true, force: true });
});

describe('UploadHandler on a local disk (real sharp, real clamd)', () => {
  let manager: StorageManager;
  let disk: Disk;
  let root: string;
  const handler = (config: UploadConfig = {}): UploadHandler => createUploadHandler(disk, { tempDir, ...config });

  beforeAll(() => {
    root = join(base, 'disk');
    manager = new StorageManager({ config: { disks: { scratch: { driver: 'memory' } } } });
    disk = manager.configureDisk('uploads', 'local', { root, url: 'http://files.test/media' });
  });
  afterAll(async () => {
    await manager?.close();
  });
  beforeEach(async () => {
    await rm(root, { recursive: true, force: true });
    await mkdir(root, { recursive: true });
  });

  it('stores a clean photo (scanned) with upright thumbnails of every size, its URL and its metadata', async () => {
    const upload = handler({
      uploadPath: 'uploads/photos',
      allowedExtensions: ['.jpg', 'png'],
      maxFileSize: '20MiB',
      virusScan: { host: clamd.host, port: clamd.port, timeout: 10 },
      thumbnails: { sizes: [{ width: 150, height: 150, fit: 'cover' }, { width: 800, height: 600, fit: 'inside' }], format: 'webp', quality: 80 },
    });
    const progress: UploadProgress[] = [];
    const result = await upload.handle({ name: 'IMG_0001.JPG', content: streamOf(photo), size: photo.length }, { onProgress: (p) => void progress.push(p) });

    expect(result).toMatchObject({ path: 'uploads/photos/IMG_0001.JPG', disk: 'uploads', size: photo.length, mime: 'image/jpeg', sha256: sha256(photo) });
    expect(result.url).toBe('http://files.test/media/uploads/photos/IMG_0001.JPG');
    expect((await disk.get(result.path)).equals(photo)).toBe(true);
    expect(result.thumbnails.map((t) => [t.path, t.width, t.height, t.format])).toEqual([
      ['uploads/photos/thumbnails/IMG_0001.150x150.webp', 150, 150, 'webp'],
      ['uploads/photos/thumbnails/IMG_0001.800x600.webp', 450, 600, 'webp'],
    ]);
    for (const thumbnail of result.thumbnails) {
      expect(thumbnail.url).toBe(`http://files.test/media/${thumbnail.path}`);
      const stored = await disk.get(thumbnail.path);
      expect(stored.length).toBe(thumbnail.size);
      const meta = await sharp(stored).metadata();
      expect([meta.format, meta.width, meta.height, meta.orientation]).toEqual(['webp', thumbnail.width, thumbnail.height, undefined]);
    }
    // Orientation 6 applied: the stored top-left red block shows top-right.
    const large = await disk.get(result.thumbnails[1]!.path);
    expect(near(await pixelAt(large, 440, 10), RED)).toBe(true);
    expect(near(await pixelAt(large, 10, 10), BLUE)).toBe(true);

    expect(result.metadata).toMatchObject({ originalName: 'IMG_0001.JPG', size: photo.length, sha256: sha256(photo), mime: 'image/jpeg', format: 'jpeg', width: 1200, height: 1600, orientation: 6 });
    expect(result.metadata.exif).toMatchObject({ make: CAMERA_EXIF.make, model: CAMERA_EXIF.model, takenAt: CAMERA_EXIF.takenAtUtc });
    expect(result.metadata.exif?.gps?.latitude).toBeCloseTo(CAMERA_EXIF.latitude.decimal, 5);

    expect(progress.at(-1)).toEqual({ bytes: photo.length, total: photo.length });
    expect(await leftIn(tempDir)).toEqual([]);
  });

  it('organizeByDate, a free name when the name is taken (never an overwrite, concurrent uploads too), hash and uuid naming, sanitised names', async () => {
    const dated = handler({ uploadPath: 'uploads/documents', organizeByDate: true, now: () => new Date('2024-05-06T23:30:00Z') });
    const first = await dated.handle({ name: 'notes.txt', content: Buffer.from('one') });
    expect(first.path).toBe('uploads/documents/2024/05/06/notes.txt');
    const texts = ['two', 'three', 'four'];
    const more = await Promise.all(texts.map((text) => dated.handle({ name: 'notes.txt', content: Buffer.from(text) })));
    expect(more.map((r) => r.path).sort()).toEqual([1, 2, 3].map((n) => `uploads/documents/2024/05/06/notes-${n}.txt`));
    expect(await disk.getText(first.path)).toBe('one');
    for (const [i, result] of more.entries()) expect(await disk.getText(result.path)).toBe(texts[i]);

    const odd = await dated.handle({ name: '..\\..\\evil/../.hidden:na|me.txt', content: Buffer.from('x') });
    expect(odd.path).toBe('uploads/documents/2024/05/06/_hidden_na_me.txt');
    expect(odd.metadata.originalName).toBe('.hidden:na|me.txt');

    const hashed = handler({ uploadPath: 'by-hash', naming: 'hash' });
    const pdf = tinyPdf();
    const h1 = await hashed.handle({ name: 'Report.PDF', content: pdf });
    expect(h1).toMatchObject({ path: `by-hash/${sha256(pdf)}.pdf`, mime: 'application/pdf' });
    expect((await hashed.handle({ name: 'again.pdf', content: pdf })).path).toBe(`by-hash/${sha256(pdf)}-1.pdf`);

    const uuid = await handler({ uploadPath: 'by-id', naming: 'uuid' }).handle({ name: 'a.TXT', content: Buffer.from('u') });
    expect(uuid.path).toMatch(/^by-id\/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\.txt$/);
    expect(await storedFiles(disk)).toHaveLength(8);
    expect(await leftIn(tempDir)).toEqual([]);
  });

  it('refuses a too-big stream as it arrives, without reading the rest of it, and stores nothing', async () => {
    const upload = handler({ maxFileSize: '1MiB' });
    const big = lazyStream(64 * MiB);
    const err = await expectRejected(upload.handle({ name: 'big.bin', content: big.stream }), 'EFBIG', 'max-size');
    expect(err.message).toContain('big.bin');
    expect(big.pulled()).toBeGreaterThan(MiB);
    expect(big.pulled()).toBeLessThan(2 * MiB);

    // A declared size over the limit: refused before one byte is read.
    const declared = lazyStream(64 * MiB);
    await expectRejected(upload.handle({ name: 'big.bin', content: declared.stream, size: 64 * MiB }), 'EFBIG', 'max-size');
    expect(declared.pulled()).toBe(0);
    // A local file over the limit: refused from its stat.
    const local = join(base, 'two-mib.bin');
    await writeFile(local, Buffer.alloc(2 * MiB));
    await expectRejected(upload.handle({ name: 'two.bin', content: { path: local } }), 'EFBIG', 'max-size');
    // Fewer bytes than declared: a cut upload.
    await expectRejected(upload.handle({ name: 'cut.bin', content: Readable.from([Buffer.from('12345')]), size: 10 }), 'EINVAL', 'size-mismatch');
    // Exactly the limit passes; progress is reported chunk by chunk as the bytes arrive.
    const progress: UploadProgress[] = [];
    expect((await upload.handle({ name: 'exact.bin', content: lazyStream(MiB).stream }, { onProgress: (p) => void progress.push(p) })).size).toBe(MiB);
    expect(progress).toHaveLength(16);
    expect(progress.map((p) => p.bytes)).toEqual(Array.from({ length: 16 }, (_, i) => (i + 1) * 64 * 1024));
    expect(await storedFiles(disk)).toEqual(['exact.bin']);
    expect(await leftIn(tempDir)).toEqual([]);
  });

  it('stops an upload when its signal aborts (ECANCELED), storing nothing', async () => {
    const controller = new AbortController();
    const slow = lazyStream(64 * MiB);
    const onProgress = (p: UploadProgress): void => {
      if (p.bytes >= MiB) controller.abort();
    };
    await expectCode(handler().handle({ name: 'slow.bin', content: slow.stream }, { onProgress, signal: controller.signal }), 'ECANCELED');
    expect(slow.pulled()).toBeLessThan(2 * MiB);
    await expectCode(handler().handle({ name: 'text.txt', content: 'not bytes' as unknown as Buffer }), 'EINVAL');
    expect(await storedFiles(disk)).toEqual([]);
    expect(await leftIn(tempDir)).toEqual([]);
  });

  it('refuses a bad extension, a script named .jpg, a pixel bomb and a truncated JPEG, storing nothing', async () => {
    const upload = handler({ uploadPath: 'u', allowedExtensions: ['.jpg', 'PNG', 'pdf'], thumbnails: true });
    await expectRejected(upload.handle({ name: 'tool.exe', content: Buffer.from('MZ not really') }), 'EINVAL', 'extension');
    await expectRejected(upload.handle({ name: 'cat.jpg', content: Buffer.from('#!/bin/sh\necho pwned\n') }), 'EINVAL', 'type-mismatch');
    const bomb = await expectRejected(upload.handle({ name: 'bomb.png', content: pngBomb() }), 'EINVAL', 'too-many-pixels');
    expect(bomb.reason).toContain('50000x50000');
    const half = photo.subarray(0, Math.floor(photo.length / 2));
    await expectRejected(upload.handle({ name: 'half.jpg', content: half }), 'EINVAL', 'truncated');
    // Without any image step: the header check refuses the bomb, the default decode the truncated image ('header' would not).
    await expectRejected(handler().handle({ name: 'bomb.png', content: pngBomb() }), 'EINVAL', 'too-many-pixels');
    await expectRejected(handler().handle({ name: 'half.jpg', content: half }), 'EINVAL', 'truncated');
    expect((await handler({ verifyImages: 'header' }).handle({ name: 'half.jpg', content: half })).path).toBe('half.jpg');
    await disk.delete('half.jpg');
    // sniff: false lets a misnamed file through (its content is not an image, so no image step runs).
    expect((await handler({ sniff: false }).handle({ name: 'cat.jpg', content: Buffer.from('#!/bin/sh\n') })).path).toBe('cat.jpg');
    expect(await storedFiles(disk)).toEqual(['cat.jpg']);
    expect(await leftIn(tempDir)).toEqual([]);
  });

  it('rejects EICAR with its signature (EACCES) before anything is stored; a stopped clamd is an error, never a pass', async () => {
    const upload = handler({ uploadPath: 'scanned', virusScan: { socket: clamd.socketPath, timeout: 10 }, thumbnails: true });
    const infected = await expectRejected(upload.handle({ name: 'eicar.txt', content: streamOf(eicarTestFile()) }), 'EACCES', 'virus');
    expect(infected.signature).toMatch(EICAR_SIGNATURE);
    expect(await storedFiles(disk)).toEqual([]);

    await clamd.stop();
    try {
      const failure = await upload.handle({ name: 'clean.txt', content: Buffer.from('clean text') }).then(
        () => undefined,
        (err: unknown) => err,
      );
      expect(failure).toBeInstanceOf(FsError);
      expect(failure).not.toBeInstanceOf(UploadRejectedError);
      expect((failure as FsError).code).toBe('ECONNREFUSED');
      expect(await storedFiles(disk)).toEqual([]);
    } finally {
      await clamd.start();
    }
    expect((await upload.handle({ name: 'clean.txt', content: Buffer.from('clean text') })).path).toBe('scanned/clean.txt');
    expect(await storedFiles(disk)).toEqual(['scanned/clean.txt']);
    expect(await leftIn(tempDir)).toEqual([]);
  });

  it('optimises and converts an image: stored smaller in the new format and named for it, EXIF of the upload in the metadata', async () => {
    const upload = handler({ uploadPath: 'o', optimise: { maxWidth: 800, maxHeight: 800, quality: 70 }, convert: { format: 'webp' } });
    const result = await upload.handle({ name: 'photo.jpg', content: photo });
    const stored = await disk.get(result.path);
    expect(result).toMatchObject({ path: 'o/photo.webp', mime: 'image/webp', size: stored.length, sha256: sha256(stored) });
    expect(result.metadata).toMatchObject({ originalName: 'photo.jpg', format: 'webp', width: 600, height: 800, orientation: 6 });
    expect(result.metadata.exif?.make).toBe(CAMERA_EXIF.make);
    const meta = await sharp(stored).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(['webp', 600, 800]);
    expect(near(await pixelAt(stored, 590, 10), RED)).toBe(true);
    expect(await storedFiles(disk)).toEqual(['o/photo.webp']);
  });

  it('a subclass adds its own validation and processing (a watermark); thumbnails show the result', async () => {
    const logo = await solidImage(100, 100, 'png', RED);
    class BrandedUploads extends UploadHandler {
      protected override async validate(staged: StagedUpload): Promise<void> {
        if (/secret/i.test(staged.name)) throw this.reject(staged, 'confidential-name', `'${staged.name}' looks confidential`);
        await super.validate(staged);
      }

      protected override async process(staged: StagedUpload): Promise<StagedUpload> {
        const processed = await super.process(staged);
        if (!this.isImage(processed)) return processed;
        return this.fromImage(processed, await watermark(processed.path, { image: logo, position: 'bottom-right' }), 'branded');
      }
    }
    const upload = new BrandedUploads(disk, { tempDir, uploadPath: 'brand', thumbnails: { sizes: [{ width: 200, height: 150 }], format: 'png' } });
    await expectRejected(upload.handle({ name: 'Secret-plan.png', content: await solidImage(400, 300, 'png', BLUE) }), 'EINVAL', 'confidential-name');
    const result = await upload.handle({ name: 'banner.png', content: await solidImage(400, 300, 'png', BLUE) });
    expect(result.path).toBe('brand/banner.png');
    const stored = await disk.get(result.path);
    expect(near(await pixelAt(stored, 390, 290), RED, 4)).toBe(true);
    expect(near(await pixelAt(stored, 10, 10), BLUE, 4)).toBe(true);
    const thumbnail = await disk.get('brand/thumbnails/banner.200x150.png');
    expect(near(await pixelAt(thumbnail, 195, 145), RED, 8)).toBe(true);
    expect(await storedFiles(disk)).toEqual(['brand/banner.png', 'brand/thumbnails/banner.200x150.png']);
  });

  it('a failure while storing leaves nothing behind', async () => {
    class FailingStore extends UploadHandler {
      protected override async store(staged: StagedUpload, path: string, options?: UploadOptions): Promise<void> {
        await super.store(staged, path, options);
        throw new FsError('EIO', `backend hiccup after storing '${path}'`);
      }
    }
    await expectCode(new FailingStore(disk, { tempDir, thumbnails: true }).handle({ name: 'p.jpg', content: photo }), 'EIO');
    expect(await storedFiles(disk)).toEqual([]);
    expect(await leftIn(tempDir)).toEqual([]);
  });

  it('looks a disk name up on every upload, so Storage.fake applies', async () => {
    const own = new StorageManager({ config: { disks: { media: { driver: 'memory' } } } });
    try {
      const upload = createUploadHandler('media', { tempDir, uploadPath: 'in' }, { manager: own });
      const fake = own.fake('media');
      await upload.handle({ name: 'a.txt', content: Buffer.from('faked') });
      await fake.assertExists('in/a.txt', 'faked');
    } finally {
      await own.close();
    }
  });

  it('refuses a bad configuration with EINVAL naming the option', () => {
    const bad: Array<[UploadConfig, string]> = [
      [{ maxFileSize: 'lots' }, 'maxFileSize'],
      [{ naming: 'random' as UploadConfig['naming'] }, 'naming'],
      [{ thumbnails: { sizes: [] } }, 'thumbnails.sizes'],
      [{ thumbnails: { sizes: [{ width: 10, height: 10 }, { width: 10, height: 10, fit: 'inside' }] } }, 'thumbnails.sizes'],
      [{ thumbnails: { format: 'gif' as 'png' } }, 'thumbnails.format'],
      [{ optimise: { maxWidth: 0, maxHeight: 10 } }, 'optimise.maxWidth'],
      [{ watermark: { image: 'logo.png', opacity: 2 } }, 'watermark.opacity'],
      [{ virusScan: { socket: '/x.sock', port: 3310 } }, 'virusScan'],
      [{ virusScan: { timeout: 5 } }, 'virusScan'],
      [{ uploadPath: '../outside' }, 'climbs out'],
    ];
    for (const [config, named] of bad) expect(expectSyncCode(() => handler(config), 'EINVAL').message).toContain(named);
  });
});

describe('UploadHandler on s3 (s3rver)', () => {
  let server: S3rver;
  let bucket: string;
  let disk: Disk;
  const client = (): ReturnType<typeof s3rverClient> => s3rverClient(server.endpoint);

  beforeAll(async () => {
    server = await startS3rver();
    bucket = await server.createBucket();
    disk = new Disk(createS3Driver(s3rverDiskConfig(server, bucket), { diskName: 's3' }, S3RVER_OVERRIDES), { name: 's3' });
  });
  afterAll(async () => {
    await disk?.close();
    await server?.stop();
  });

  it('stores a scanned photo, its thumbnails and its metadata in the bucket; rejected uploads leave the bucket untouched', async () => {
    const upload = createUploadHandler(disk, {
      tempDir,
      uploadPath: 'media',
      maxFileSize: '5MiB',
      virusScan: { host: clamd.host, port: clamd.port },
      thumbnails: { sizes: [{ width: 300, height: 300 }] },
      metadata: { owner: 'ann' },
    });
    const result = await upload.handle({ name: 'photo.jpg', content: streamOf(photo) }, { metadata: { album: 'spring' } });
    const again = await upload.handle({ name: 'photo.jpg', content: photo });
    expect([result.path, again.path]).toEqual(['media/photo.jpg', 'media/photo-1.jpg']);
    await expectRejected(upload.handle({ name: 'eicar.txt', content: eicarTestFile() }), 'EACCES', 'virus');
    await expectRejected(upload.handle({ name: 'huge.bin', content: lazyStream(64 * MiB).stream }), 'EFBIG', 'max-size');
    await expectRejected(upload.handle({ name: 'bomb.png', content: pngBomb() }), 'EINVAL', 'too-many-pixels');

    const s3 = client();
    try {
      expect((await listBucketKeys(s3, bucket)).sort()).toEqual([
        'media/photo-1.jpg',
        'media/photo.jpg',
        'media/thumbnails/photo-1.300x300.webp',
        'media/thumbnails/photo.300x300.webp',
      ]);
      expect(await objectSha256(s3, bucket, 'media/photo.jpg')).toBe(result.sha256);
    } finally {
      s3.destroy();
    }
    expect(await disk.metadata(result.path)).toMatchObject({ size: photo.length, mimeType: 'image/jpeg', metadata: { owner: 'ann', album: 'spring' } });
    expect(await disk.mimeType(result.thumbnails[0]!.path)).toBe('image/webp');
    expect(result.thumbnails.map((t) => [t.width, t.height])).toEqual([[300, 300]]);
    expect(result.url).toBe(await disk.url(result.path).catch(() => undefined));
    expect(await leftIn(tempDir)).toEqual([]);
  });
});
