import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FsError } from '../../src/core/errors.js';
import {
  ImageRejectedError,
  convert,
  exifDate,
  imageMetadata,
  optimise,
  parseExif,
  readExifDirectories,
  thumbnails,
  watermark,
  type ImageRejection,
  type ThumbnailSpec,
} from '../../src/processing/images/index.js';
import { BLUE, CAMERA_EXIF, RED, animatedGif, cameraJpeg, near, pixelAt, pngBomb, solidImage, tiffBlock } from './support/images.js';

let dir: string;
/** 4000x3000 stored, EXIF orientation 6: displays as 3000x4000 portrait, red block top-right. */
let photoPath: string;
let photo: Buffer;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'storaged-images-'));
  photo = await cameraJpeg();
  photoPath = join(dir, 'camera.jpg');
  await writeFile(photoPath, photo);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Resolves to the rejection of `promise`, failing the test if it resolves. */
async function rejection(promise: Promise<unknown>): Promise<FsError> {
  const outcome = await promise.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(outcome).toBeInstanceOf(FsError);
  return outcome as FsError;
}

async function expectRejected(promise: Promise<unknown>, code: string, reason: ImageRejection): Promise<ImageRejectedError> {
  const err = await rejection(promise);
  expect(err.code).toBe(code);
  expect(err).toBeInstanceOf(ImageRejectedError);
  expect((err as ImageRejectedError).reason).toBe(reason);
  return err as ImageRejectedError;
}

describe('thumbnails', () => {
  const specs: ThumbnailSpec[] = [
    { name: 'square', width: 200, height: 200, fit: 'cover', format: 'webp', quality: 70 },
    { name: 'medium', width: 400, height: 400, fit: 'inside', format: 'jpeg' },
    { name: 'large', width: 1600, height: 1600, fit: 'inside', format: 'jpeg', quality: 85 },
    { name: 'tiny', width: 64, height: 48, fit: 'cover', format: 'avif', quality: 50 },
  ];

  it('makes every size of a 12-megapixel JPEG upright (orientation 6 gives portrait), metadata stripped', async () => {
    const out = await thumbnails(photoPath, specs);
    expect(out.map((t) => [t.name, t.format, t.width, t.height])).toEqual([
      ['square', 'webp', 200, 200],
      ['medium', 'jpeg', 300, 400],
      ['large', 'jpeg', 1200, 1600],
      ['tiny', 'avif', 64, 48],
    ]);
    for (const thumb of out) {
      const meta = await sharp(thumb.bytes).metadata();
      expect([meta.width, meta.height]).toEqual([thumb.width, thumb.height]);
      expect(meta.format).toBe(thumb.format === 'avif' ? 'heif' : thumb.format);
      expect(meta.orientation).toBeUndefined();
      expect(meta.exif).toBeUndefined();
    }
    // The stored top-left red block is displayed top-right after orientation 6.
    const large = out.find((t) => t.name === 'large')!.bytes;
    expect(near(await pixelAt(large, 1190, 10), RED)).toBe(true);
    expect(near(await pixelAt(large, 10, 10), BLUE)).toBe(true);
    expect(near(await pixelAt(large, 1190, 1590), BLUE)).toBe(true);
    const square = out.find((t) => t.name === 'square')!.bytes;
    expect(near(await pixelAt(square, 196, 3), RED, 40)).toBe(true);
    expect(near(await pixelAt(square, 3, 3), BLUE, 40)).toBe(true);
  });

  it('reads a Buffer as well as a path, and keeps metadata when asked (orientation already applied)', async () => {
    const [thumb] = await thumbnails(photo, [{ name: 'm', width: 300, height: 300, fit: 'inside', format: 'jpeg' }], { keepMetadata: true });
    expect([thumb!.width, thumb!.height]).toEqual([225, 300]);
    const meta = await imageMetadata(thumb!.bytes);
    expect(meta.exif?.make).toBe(CAMERA_EXIF.make);
    expect(meta.orientation).toBe(1);
    expect([meta.width, meta.height]).toEqual([225, 300]);
  });

  it('never enlarges a small source unless the spec says enlarge', async () => {
    const small = await solidImage(100, 80, 'png', BLUE);
    const out = await thumbnails(small, [
      { name: 'kept', width: 400, height: 400, fit: 'inside', format: 'png' },
      { name: 'grown', width: 400, height: 400, fit: 'inside', format: 'png', enlarge: true },
      { name: 'cropped', width: 300, height: 300, fit: 'cover', format: 'png', enlarge: true },
    ]);
    expect(out.map((t) => [t.name, t.width, t.height])).toEqual([
      ['kept', 100, 80],
      ['grown', 400, 320],
      ['cropped', 300, 300],
    ]);
  });

  it('flattens transparency onto the background for JPEG', async () => {
    const clear = await solidImage(50, 50, 'png', { r: 0, g: 0, b: 0, alpha: 0 });
    const [thumb] = await thumbnails(clear, [{ name: 'j', width: 20, height: 20, fit: 'cover', format: 'jpeg' }], { background: '#00ff00' });
    expect(near(await pixelAt(thumb!.bytes, 10, 10), { r: 0, g: 255, b: 0 })).toBe(true);
  });

  it('rejects bad specs with EINVAL before reading the input', async () => {
    const bad = (spec: Partial<ThumbnailSpec>) => thumbnails('/no/such/file.jpg', [{ name: 'x', width: 10, height: 10, fit: 'cover', format: 'jpeg', ...spec } as ThumbnailSpec]);
    for (const spec of [{ width: 0 }, { height: 1.5 }, { fit: 'fill' }, { format: 'bmp' }, { quality: 101 }, { name: '' }] as Partial<ThumbnailSpec>[]) {
      expect((await rejection(bad(spec))).code).toBe('EINVAL');
    }
    const twice = { name: 'same', width: 10, height: 10, fit: 'cover', format: 'jpeg' } as const;
    expect((await rejection(thumbnails(photo, [twice, twice]))).code).toBe('EINVAL');
    expect((await rejection(thumbnails(photo, []))).code).toBe('EINVAL');
  });

  it('keeps the event loop free while sharp works on the threadpool', async () => {
    let worst = 0;
    let last = performance.now();
    const timer = setInterval(() => {
      const now = performance.now();
      worst = Math.max(worst, now - last);
      last = now;
    }, 5);
    try {
      await thumbnails(photoPath, specs.slice(0, 3));
    } finally {
      clearInterval(timer);
    }
    expect(worst).toBeLessThan(250);
  });
});

describe('safety limits', () => {
  const one: ThumbnailSpec[] = [{ name: 't', width: 64, height: 64, fit: 'cover', format: 'jpeg' }];

  it('rejects a pixel bomb (a 1 KiB PNG claiming 50000x50000) with EFBIG, naming its size', async () => {
    const bomb = pngBomb();
    expect(bomb.length).toBeLessThan(2048);
    const bombPath = join(dir, 'bomb.png');
    await writeFile(bombPath, bomb);
    for (const input of [bomb, bombPath]) {
      const err = await expectRejected(thumbnails(input, one), 'EFBIG', 'too-many-pixels');
      expect(err.message).toContain('50000x50000');
    }
    await expectRejected(optimise(bomb, { maxWidth: 100, maxHeight: 100 }), 'EFBIG', 'too-many-pixels');
    await expectRejected(watermark(bomb, { image: await solidImage(4, 4, 'png', RED) }), 'EFBIG', 'too-many-pixels');
  });

  it('applies a configured pixel limit', async () => {
    const image = await solidImage(200, 100, 'png', BLUE);
    await expectRejected(thumbnails(image, one, { limits: { maxPixels: 19_999 } }), 'EFBIG', 'too-many-pixels');
    expect(await thumbnails(image, one, { limits: { maxPixels: 20_000 } })).toHaveLength(1);
  });

  it('rejects a JPEG cut in half as truncated (EBADMSG)', async () => {
    const halfPath = join(dir, 'half.jpg');
    await writeFile(halfPath, photo.subarray(0, photo.length >> 1));
    const err = await expectRejected(thumbnails(halfPath, one), 'EBADMSG', 'truncated');
    expect(err.path).toBe(halfPath);
    await expectRejected(optimise(halfPath, { maxWidth: 500, maxHeight: 500 }), 'EBADMSG', 'truncated');
    // Even the laxest level allowed still fails truncated data.
    await expectRejected(thumbnails(halfPath, one, { limits: { failOn: 'truncated' } }), 'EBADMSG', 'truncated');
  });

  it('rejects a JPEG cut right after its header', async () => {
    await expectRejected(thumbnails(photo.subarray(0, 400), one), 'EBADMSG', 'truncated');
  });

  it('rejects a PNG whose pixel data is damaged (EBADMSG)', async () => {
    const png = await sharp({ create: { width: 300, height: 200, channels: 3, background: BLUE, noise: { type: 'gaussian', mean: 128, sigma: 40 } } }).png().toBuffer();
    const damaged = Buffer.from(png);
    for (let i = 200; i < damaged.length - 40; i += 97) damaged[i] = damaged[i]! ^ 0x5a;
    const err = await rejection(thumbnails(damaged, one));
    expect(err.code).toBe('EBADMSG');
  });

  it('rejects a shell script named .jpg as not an image (EINVAL)', async () => {
    const script = join(dir, 'holiday.jpg');
    await writeFile(script, '#!/bin/sh\necho pwned > /tmp/pwned\n');
    const err = await expectRejected(thumbnails(script, one), 'EINVAL', 'not-an-image');
    expect(err.message).toContain('holiday.jpg');
    await expectRejected(imageMetadata(script), 'EINVAL', 'not-an-image');
    await expectRejected(convert(script, { format: 'webp' }), 'EINVAL', 'not-an-image');
  });

  it('rejects an empty file and an empty buffer as not an image', async () => {
    const empty = join(dir, 'empty.jpg');
    await writeFile(empty, '');
    await expectRejected(thumbnails(empty, one), 'EINVAL', 'not-an-image');
    await expectRejected(thumbnails(Buffer.alloc(0), one), 'EINVAL', 'not-an-image');
  });

  it('rejects an input over the byte limit before decoding it', async () => {
    const err = await expectRejected(thumbnails(photoPath, one, { limits: { maxBytes: 1000 } }), 'EFBIG', 'too-large');
    expect(err.message).toContain(`${photo.length} bytes`);
  });

  it('rejects an animated image with more frames than the limit; decodes only the first frame otherwise', async () => {
    const gif = await animatedGif(12);
    const err = await expectRejected(thumbnails(gif, one, { limits: { maxFrames: 10 } }), 'EFBIG', 'too-many-frames');
    expect(err.message).toContain('12 frames');
    const [thumb] = await thumbnails(gif, [{ name: 'g', width: 8, height: 8, fit: 'cover', format: 'png' }]);
    expect([thumb!.width, thumb!.height]).toEqual([8, 8]);
  });

  it('rejects formats outside the accepted list (SVG by default)', async () => {
    const svg = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10"/></svg>');
    await expectRejected(thumbnails(svg, one), 'EINVAL', 'unsupported-format');
    expect(await thumbnails(svg, one, { limits: { formats: ['svg'] } })).toHaveLength(1);
  });

  it('reports a missing file as ENOENT and bad limits as EINVAL', async () => {
    expect((await rejection(thumbnails(join(dir, 'missing.jpg'), one))).code).toBe('ENOENT');
    expect((await rejection(thumbnails(dir, one))).code).toBe('EISDIR');
    // 'none' would let truncated images through: not accepted.
    const lax = { failOn: 'none' } as unknown as { failOn: 'error' };
    expect((await rejection(thumbnails(photo, one, { limits: lax }))).code).toBe('EINVAL');
    expect((await rejection(thumbnails(photo, one, { limits: { maxPixels: 0 } }))).code).toBe('EINVAL');
  });
});

describe('optimise and convert', () => {
  it('scales an oriented 12-megapixel photo into the box, in the requested format and quality', async () => {
    const out = await optimise(photoPath, { maxWidth: 1024, maxHeight: 1024, quality: 70 });
    expect([out.format, out.width, out.height]).toEqual(['jpeg', 768, 1024]);
    const webp = await optimise(photo, { maxWidth: 2000, maxHeight: 1000, format: 'webp' });
    expect([webp.format, webp.width, webp.height]).toEqual(['webp', 750, 1000]);
    expect((await sharp(webp.bytes).metadata()).format).toBe('webp');
    const lower = await optimise(photoPath, { maxWidth: 1024, maxHeight: 1024, quality: 20 });
    expect(lower.bytes.length).toBeLessThan(out.bytes.length);
  });

  it('never enlarges, and keeps the input format when none is given', async () => {
    const png = await solidImage(120, 90, 'png', BLUE);
    const out = await optimise(png, { maxWidth: 1000, maxHeight: 1000 });
    expect([out.format, out.width, out.height]).toEqual(['png', 120, 90]);
  });

  it('converts between formats at the same displayed size', async () => {
    const png = await solidImage(120, 90, 'png', { r: 10, g: 200, b: 30, alpha: 1 });
    const avif = await convert(png, { format: 'avif', quality: 60 });
    expect([avif.format, avif.width, avif.height]).toEqual(['avif', 120, 90]);
    expect((await sharp(avif.bytes).metadata()).compression).toBe('av1');
    const back = await convert(avif.bytes, { format: 'png' });
    expect([back.format, back.width, back.height]).toEqual(['png', 120, 90]);
    const rotated = await convert(await cameraJpeg({ width: 400, height: 300 }), { format: 'webp' });
    expect([rotated.width, rotated.height]).toEqual([300, 400]);
  });

  it('rejects bad options with EINVAL', async () => {
    expect((await rejection(optimise(photo, { maxWidth: 0, maxHeight: 10 }))).code).toBe('EINVAL');
    expect((await rejection(optimise(photo, { maxWidth: 10, maxHeight: 10, quality: 0 }))).code).toBe('EINVAL');
    expect((await rejection(convert(photo, { format: 'gif' as 'png' }))).code).toBe('EINVAL');
  });
});

describe('watermark', () => {
  const base = () => solidImage(400, 300, 'png', BLUE);
  const mark = () => solidImage(40, 20, 'png', RED);

  it('places an opaque mark at the position, margin from the edges, keeping the size', async () => {
    const out = await watermark(await base(), { image: await mark(), position: 'bottom-right', margin: 10, opacity: 1 });
    expect([out.format, out.width, out.height]).toEqual(['png', 400, 300]);
    expect(await pixelAt(out.bytes, 400 - 10 - 1, 300 - 10 - 1)).toMatchObject(RED);
    expect(await pixelAt(out.bytes, 400 - 10 - 40, 300 - 10 - 20)).toMatchObject(RED);
    expect(await pixelAt(out.bytes, 400 - 10 - 41, 300 - 10 - 1)).toMatchObject(BLUE);
    expect(await pixelAt(out.bytes, 400 - 5, 300 - 5)).toMatchObject(BLUE);

    const topLeft = await watermark(await base(), { image: await mark(), position: 'top-left', margin: 10 });
    expect(await pixelAt(topLeft.bytes, 10, 10)).toMatchObject(RED);
    expect(await pixelAt(topLeft.bytes, 9, 9)).toMatchObject(BLUE);
    const centre = await watermark(await base(), { image: await mark(), position: 'center' });
    expect(await pixelAt(centre.bytes, 200, 150)).toMatchObject(RED);
    expect(await pixelAt(centre.bytes, 200 - 21, 150)).toMatchObject(BLUE);
  });

  it('blends by opacity', async () => {
    const out = await watermark(await base(), { image: await mark(), position: 'top-right', opacity: 0.5 });
    const blended = await pixelAt(out.bytes, 399, 0);
    expect(near(blended, { r: (255 + BLUE.r) / 2, g: (0 + BLUE.g) / 2, b: (0 + BLUE.b) / 2 }, 3)).toBe(true);
    const invisible = await watermark(await base(), { image: await mark(), position: 'top-right', opacity: 0 });
    expect(await pixelAt(invisible.bytes, 399, 0)).toMatchObject(BLUE);
  });

  it('shrinks a mark larger than the picture into the room inside the margins', async () => {
    const wide = await solidImage(1000, 100, 'png', RED);
    const out = await watermark(await base(), { image: wide, position: 'bottom', margin: 10 });
    expect([out.width, out.height]).toEqual([400, 300]);
    expect(await pixelAt(out.bytes, 10, 300 - 11)).toMatchObject(RED); // 380x38 strip along the bottom margin
    expect(await pixelAt(out.bytes, 9, 300 - 11)).toMatchObject(BLUE);
    expect(await pixelAt(out.bytes, 200, 300 - 10 - 39)).toMatchObject(BLUE);
  });

  it('works on the oriented picture of a camera JPEG', async () => {
    const out = await watermark(photoPath, { image: await mark(), position: 'top-left', format: 'jpeg', quality: 90 });
    expect([out.format, out.width, out.height]).toEqual(['jpeg', 3000, 4000]);
    expect(near(await pixelAt(out.bytes, 5, 5), RED)).toBe(true);
    expect(near(await pixelAt(out.bytes, 100, 100), BLUE)).toBe(true);
  });

  it('rejects bad options with EINVAL', async () => {
    const b = await base();
    const m = await mark();
    expect((await rejection(watermark(b, { image: m, opacity: 1.5 }))).code).toBe('EINVAL');
    expect((await rejection(watermark(b, { image: m, position: 'middle' as 'center' }))).code).toBe('EINVAL');
    expect((await rejection(watermark(b, { image: m, margin: 150 }))).code).toBe('EINVAL');
    await expectRejected(watermark(b, { image: Buffer.from('not a picture') }), 'EINVAL', 'not-an-image');
  });
});

describe('imageMetadata', () => {
  it('reports oriented size and round-trips the EXIF fields sharp wrote', async () => {
    const meta = await imageMetadata(photoPath);
    expect(meta).toMatchObject({ format: 'jpeg', mediaType: 'image/jpeg', width: 3000, height: 4000, orientation: 6, hasAlpha: false, pages: 1 });
    const exif = meta.exif!;
    expect(exif.make).toBe(CAMERA_EXIF.make);
    expect(exif.model).toBe(CAMERA_EXIF.model);
    expect(exif.software).toBe(CAMERA_EXIF.software);
    expect(exif.takenAt).toEqual(CAMERA_EXIF.takenAtUtc);
    expect(exif.gps!.latitude).toBeCloseTo(CAMERA_EXIF.latitude.decimal, 6);
    expect(exif.gps!.longitude).toBeCloseTo(CAMERA_EXIF.longitude.decimal, 6);
    expect(exif.gps!.altitude).toBeCloseTo(CAMERA_EXIF.altitude.metres, 6);
    expect(exif.exposure).toEqual({ time: 1 / 250, fNumber: 2.8, iso: 400, focalLength: 50 });
    expect(exif.lens).toEqual({ make: CAMERA_EXIF.lensMake, model: CAMERA_EXIF.lensModel });
  });

  it('describes images without EXIF, with alpha, and even pixel bombs (no pixel is decoded)', async () => {
    const png = await solidImage(30, 20, 'png', { r: 1, g: 2, b: 3, alpha: 0.5 });
    expect(await imageMetadata(png)).toEqual({ format: 'png', mediaType: 'image/png', width: 30, height: 20, orientation: 1, hasAlpha: true, pages: 1 });
    const bomb = await imageMetadata(pngBomb(50_000, 40_000));
    expect([bomb.width, bomb.height]).toEqual([50_000, 40_000]);
    expect((await imageMetadata(await animatedGif(5))).pages).toBe(5);
  });
});

describe('EXIF parser', () => {
  const entries = (order: 'II' | 'MM') =>
    tiffBlock(order, {
      ifd0: [
        { tag: 0x010f, type: 2, value: 'NIKON CORPORATION' },
        { tag: 0x0110, type: 2, value: 'Z 6' },
        { tag: 0x0112, type: 3, value: [8] },
      ],
      exif: [
        { tag: 0x829a, type: 5, value: [[1, 60]] },
        { tag: 0x8827, type: 3, value: [3200] },
        { tag: 0x9003, type: 2, value: '2023:12:31 23:59:58' },
        { tag: 0x9011, type: 2, value: '-05:00' },
        { tag: 0x9291, type: 2, value: '25' },
        { tag: 0xa405, type: 3, value: [35] },
        { tag: 0xa434, type: 2, value: 'NIKKOR Z 24-70mm f/4 S' },
      ],
      gps: [
        { tag: 1, type: 2, value: 'S' },
        { tag: 2, type: 5, value: [[33, 1], [52, 1], [3600, 100]] },
        { tag: 3, type: 2, value: 'E' },
        { tag: 4, type: 5, value: [[151, 1], [12, 1], [0, 1]] },
        { tag: 5, type: 7, value: '\u0001' },
        { tag: 6, type: 5, value: [[12, 1]] },
      ],
    });

  it.each(['MM', 'II'] as const)('reads a hand-built %s block: signs, offsets, sub-seconds', (order) => {
    const exif = parseExif(entries(order))!;
    expect(exif.make).toBe('NIKON CORPORATION');
    expect(exif.model).toBe('Z 6');
    expect(exif.takenAt).toEqual(new Date('2024-01-01T04:59:58.250Z'));
    expect(exif.exposure).toEqual({ time: 1 / 60, iso: 3200, focalLength35mm: 35 });
    expect(exif.lens).toEqual({ model: 'NIKKOR Z 24-70mm f/4 S' });
    expect(exif.gps!.latitude).toBeCloseTo(-(33 + 52 / 60 + 36 / 3600), 9);
    expect(exif.gps!.longitude).toBeCloseTo(151.2, 9);
    expect(exif.gps!.altitude).toBe(-12);
    expect(readExifDirectories(entries(order))!.ifd0.get(0x0112)).toEqual([8]);
  });

  it('never throws on malformed blocks: garbage, cut-off blocks, offsets out of range', () => {
    expect(parseExif(undefined)).toBeUndefined();
    expect(parseExif(Buffer.from('Exif\0\0garbage that is not tiff'))).toBeUndefined();
    expect(parseExif(Buffer.from('MM\0\x2a\0\0\0\x08\xff\xff', 'latin1'))).toBeUndefined();
    const block = entries('MM');
    for (let cut = 0; cut < block.length; cut += 7) expect(() => parseExif(block.subarray(0, cut))).not.toThrow();
    // A cut that keeps IFD0 but loses the values it points at: short inline values survive.
    const partial = parseExif(block.subarray(0, 6 + 8 + 2 + 5 * 12 + 4));
    expect(partial?.make).toBeUndefined();
    expect(partial?.model).toBe('Z 6');
    let seed = 7;
    for (let round = 0; round < 200; round++) {
      const noisy = Buffer.from(block);
      for (let k = 0; k < 8; k++) {
        seed = (seed * 1103515245 + 12345) & 0x7fffffff;
        noisy[6 + (seed % (noisy.length - 6))] = seed & 0xff;
      }
      expect(() => parseExif(noisy)).not.toThrow();
    }
  });

  it('parses EXIF dates, rejecting blank and impossible ones', () => {
    expect(exifDate('2024:02:29 12:00:00')).toEqual(new Date('2024-02-29T12:00:00Z'));
    expect(exifDate('2024:02:29 12:00:00', '+09:30')).toEqual(new Date('2024-02-29T02:30:00Z'));
    expect(exifDate('2024-02-29 12:00:00', undefined, '5')).toEqual(new Date('2024-02-29T12:00:00.500Z'));
    expect(exifDate('    :  :     :  :  ')).toBeUndefined();
    expect(exifDate('0000:00:00 00:00:00')).toBeUndefined();
    expect(exifDate('2024:13:01 00:00:00')).toBeUndefined();
    expect(exifDate(undefined)).toBeUndefined();
  });
});
