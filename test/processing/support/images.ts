import { deflateSync } from 'node:zlib';
import sharp from 'sharp';

/** Camera-like EXIF written into test photos, and the values the parser must read back. */
export const CAMERA_EXIF = {
  make: 'Canon',
  model: 'EOS R5',
  software: 'storaged-test 1.0',
  takenAt: '2024:05:06 07:08:09',
  offset: '+02:00',
  /** 2024-05-06 07:08:09 at +02:00 is 05:08:09 UTC. */
  takenAtUtc: new Date('2024-05-06T05:08:09Z'),
  exposureTime: '1/250',
  fNumber: '28/10',
  iso: '400',
  focalLength: '50/1',
  lensMake: 'Canon',
  lensModel: 'RF50mm F1.8 STM',
  /** 52° 30' 12.34" N */
  latitude: { ref: 'N', dms: '52/1 30/1 1234/100', decimal: 52 + 30 / 60 + 12.34 / 3600 },
  /** 13° 24' 0" W */
  longitude: { ref: 'W', dms: '13/1 24/1 0/1', decimal: -(13 + 24 / 60) },
  altitude: { ref: '0', value: '345/10', metres: 34.5 },
} as const;

/** Marker colours: the stored top-left block is red on a blue field. */
export const RED = { r: 255, g: 0, b: 0 };
export const BLUE = { r: 48, g: 96, b: 160 };

/**
 * A landscape JPEG of `width` x `height` stored pixels (default 4000x3000,
 * 12 MP) with a red block in the stored top-left corner on a blue field,
 * EXIF orientation `orientation` and the CAMERA_EXIF tags. With orientation 6
 * it displays as portrait with the red block top-right.
 */
export async function cameraJpeg(options: { width?: number; height?: number; orientation?: number } = {}): Promise<Buffer> {
  const width = options.width ?? 4000;
  const height = options.height ?? 3000;
  const blockW = Math.round(width / 5);
  const blockH = Math.round(height / 5);
  const block = await sharp({ create: { width: blockW, height: blockH, channels: 3, background: RED } }).png().toBuffer();
  const e = CAMERA_EXIF;
  return sharp({ create: { width, height, channels: 3, background: BLUE } })
    .composite([{ input: block, left: 0, top: 0 }])
    .withExif({
      IFD0: { Make: e.make, Model: e.model, Software: e.software, DateTime: e.takenAt },
      IFD2: {
        DateTimeOriginal: e.takenAt,
        OffsetTimeOriginal: e.offset,
        ExposureTime: e.exposureTime,
        FNumber: e.fNumber,
        ISOSpeedRatings: e.iso,
        FocalLength: e.focalLength,
        LensMake: e.lensMake,
        LensModel: e.lensModel,
      },
      IFD3: {
        GPSLatitudeRef: e.latitude.ref,
        GPSLatitude: e.latitude.dms,
        GPSLongitudeRef: e.longitude.ref,
        GPSLongitude: e.longitude.dms,
        GPSAltitudeRef: e.altitude.ref,
        GPSAltitude: e.altitude.value,
      },
    })
    .withMetadata({ orientation: options.orientation ?? 6 })
    .jpeg({ quality: 85 })
    .toBuffer();
}

/** A plain image of one colour, encoded in `format`. */
export async function solidImage(width: number, height: number, format: 'png' | 'jpeg' | 'webp', colour: { r: number; g: number; b: number; alpha?: number }): Promise<Buffer> {
  const channels = colour.alpha === undefined ? 3 : 4;
  return sharp({ create: { width, height, channels, background: colour } }).toFormat(format).toBuffer();
}

/**
 * A tiny PNG (well under 1 KiB) whose header claims `width` x `height` RGB
 * pixels: a decompression bomb as far as any decoder trusting the header is
 * concerned.
 */
export function pngBomb(width = 50_000, height = 50_000): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // colour type RGB
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', ihdr),
    pngChunk('IDAT', deflateSync(Buffer.alloc(1024))),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}

/** An animated GIF of `frames` frames of `size` x `size` pixels. */
export async function animatedGif(frames: number, size = 8): Promise<Buffer> {
  const pictures = await Promise.all(
    Array.from({ length: frames }, (_, i) =>
      sharp({ create: { width: size, height: size, channels: 3, background: { r: (i * 37) % 256, g: 0, b: 0 } } }).png().toBuffer(),
    ),
  );
  return sharp(pictures, { join: { animated: true } }).gif().toBuffer();
}

/** The sRGB colour of the pixel at (x, y) of an encoded image. */
export async function pixelAt(image: Buffer, x: number, y: number): Promise<{ r: number; g: number; b: number; a: number }> {
  const { data, info } = await sharp(image).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
  const at = (y * info.width + x) * info.channels;
  return { r: data[at]!, g: data[at + 1]!, b: data[at + 2]!, a: data[at + 3]! };
}

/** True when two colours differ by at most `tolerance` in each channel (JPEG is lossy). */
export function near(actual: { r: number; g: number; b: number }, expected: { r: number; g: number; b: number }, tolerance = 24): boolean {
  return Math.abs(actual.r - expected.r) <= tolerance && Math.abs(actual.g - expected.g) <= tolerance && Math.abs(actual.b - expected.b) <= tolerance;
}

/** One TIFF IFD entry for tiffBlock(). Values are written in the block's byte order. */
export interface TestEntry {
  tag: number;
  /** 2 ASCII, 3 SHORT, 4 LONG, 5 RATIONAL, 7 UNDEFINED */
  type: 2 | 3 | 4 | 5 | 7;
  value: string | number[] | Array<[number, number]>;
}

/**
 * Builds an EXIF block ("Exif\0\0" + TIFF) by hand, in big-endian ('MM') or
 * little-endian ('II') order, with IFD0 plus optional EXIF and GPS sub-IFDs:
 * a reference independent of libexif for the parser tests.
 */
export function tiffBlock(order: 'II' | 'MM', dirs: { ifd0: TestEntry[]; exif?: TestEntry[]; gps?: TestEntry[] }): Buffer {
  const little = order === 'II';
  const parts: Buffer[] = [];
  let length = 8;
  const reserve = (bytes: Buffer): number => {
    const at = length;
    parts.push(bytes);
    length += bytes.length;
    if (length % 2 === 1) {
      parts.push(Buffer.alloc(1));
      length += 1;
    }
    return at;
  };
  const u16 = (n: number): Buffer => {
    const b = Buffer.alloc(2);
    if (little) b.writeUInt16LE(n);
    else b.writeUInt16BE(n);
    return b;
  };
  const u32 = (n: number): Buffer => {
    const b = Buffer.alloc(4);
    if (little) b.writeUInt32LE(n);
    else b.writeUInt32BE(n);
    return b;
  };
  const encodeValue = (entry: TestEntry): { count: number; bytes: Buffer } => {
    if (entry.type === 2) return { count: String(entry.value).length + 1, bytes: Buffer.from(`${String(entry.value)}\0`, 'latin1') };
    if (entry.type === 7) return { count: String(entry.value).length, bytes: Buffer.from(String(entry.value), 'latin1') };
    const values = entry.value as Array<number | [number, number]>;
    if (entry.type === 5) return { count: values.length, bytes: Buffer.concat(values.map((v) => Buffer.concat([u32((v as [number, number])[0]), u32((v as [number, number])[1])]))) };
    return { count: values.length, bytes: Buffer.concat(values.map((v) => (entry.type === 3 ? u16(v as number) : u32(v as number)))) };
  };
  const writeIfd = (entries: TestEntry[]): number => {
    const encoded = entries.map((e) => ({ e, ...encodeValue(e) }));
    const table = Buffer.alloc(2 + entries.length * 12 + 4);
    const at = reserve(table);
    u16(entries.length).copy(table, 0);
    encoded.forEach(({ e, count, bytes }, i) => {
      const row = 2 + i * 12;
      u16(e.tag).copy(table, row);
      u16(e.type).copy(table, row + 2);
      u32(count).copy(table, row + 4);
      if (bytes.length <= 4) bytes.copy(table, row + 8);
      else u32(reserve(bytes)).copy(table, row + 8);
    });
    return at;
  };
  const pointerEntries: TestEntry[] = [];
  if (dirs.exif) pointerEntries.push({ tag: 0x8769, type: 4, value: [0] });
  if (dirs.gps) pointerEntries.push({ tag: 0x8825, type: 4, value: [0] });
  const ifd0 = [...dirs.ifd0, ...pointerEntries];
  const ifd0At = writeIfd(ifd0);
  // Patch the pointer entries once the sub-IFDs have offsets.
  const patch = (tag: number, offset: number): void => {
    const table = parts[0]!;
    const index = ifd0.findIndex((e) => e.tag === tag);
    u32(offset).copy(table, 2 + index * 12 + 8);
  };
  if (dirs.exif) patch(0x8769, writeIfd(dirs.exif));
  if (dirs.gps) patch(0x8825, writeIfd(dirs.gps));
  const header = Buffer.concat([Buffer.from(order, 'latin1'), u16(42), u32(ifd0At)]);
  return Buffer.concat([Buffer.from('Exif\0\0', 'latin1'), header, ...parts]);
}

function pngChunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([length, body, crc]);
}

function crc32(bytes: Buffer): number {
  let crc = 0xffffffff;
  for (const byte of bytes) {
    crc ^= byte;
    for (let k = 0; k < 8; k++) crc = crc & 1 ? 0xedb88320 ^ (crc >>> 1) : crc >>> 1;
  }
  return (crc ^ 0xffffffff) >>> 0;
}
