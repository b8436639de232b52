import { randomBytes } from 'node:crypto';
import { mkdir, readdir, rename, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { seededRandom } from '../../test/support/random.js';

/** Width and height of every source photo (12 megapixels, stored landscape). */
export const PHOTO_WIDTH = 4000;
export const PHOTO_HEIGHT = 3000;
/** Bump when the generator changes: a new cache folder is used. */
const GENERATOR_VERSION = 1;
/** The mtime every photo gets: long past, so a drop-folder watcher takes a link to it as complete at once (no stable_ms wait). */
const PHOTO_MTIME = new Date('2024-01-01T00:00:00Z');
/** EXIF orientation per file, cycling: half the files need a rotation (6 and 8 turn them portrait, 3 upside down). */
const ORIENTATIONS = [1, 6, 1, 8, 1, 3] as const;

/** One generated source photo. */
export interface SourcePhoto {
  /** File name ('photo-0007.jpg'). */
  name: string;
  /** Absolute path in the cache folder. */
  path: string;
  bytes: number;
  /** EXIF orientation written into the file (1 = none). */
  orientation: number;
}

/** The folder (in the temp folder) where generated photos are kept between runs. */
export function photoCacheDir(): string {
  return join(tmpdir(), `storaged-bench-thumbs-src-v${GENERATOR_VERSION}`);
}

/**
 * Returns `count` distinct 12-megapixel camera-like JPEGs (4000x3000,
 * quality 90, EXIF camera tags, some with an orientation), generating only
 * those missing from photoCacheDir() (temp name + rename, so an interrupted
 * run never leaves a torn photo), each with an mtime in 2024. Content: per-file gradients and waves plus
 * per-pixel noise, so the JPEG decode costs what a real photo's does.
 * `progress` is told each photo made.
 */
export async function ensurePhotos(count: number, concurrency: number, progress: (made: number, total: number) => void): Promise<SourcePhoto[]> {
  const dir = photoCacheDir();
  await mkdir(dir, { recursive: true });
  const present = new Set(await readdir(dir));
  const missing = Array.from({ length: count }, (_, i) => i).filter((i) => !present.has(nameOf(i)));
  const total = missing.length;
  let made = 0;
  const next = (): number | undefined => missing.shift();
  await Promise.all(
    Array.from({ length: Math.max(1, concurrency) }, async () => {
      for (let index = next(); index !== undefined; index = next()) {
        const target = join(dir, nameOf(index));
        const temporary = `${target}.${randomBytes(4).toString('hex')}.tmp`;
        await writeFile(temporary, await makePhoto(index));
        await utimes(temporary, PHOTO_MTIME, PHOTO_MTIME);
        await rename(temporary, target);
        progress(++made, total);
      }
    }),
  );
  return Promise.all(
    Array.from({ length: count }, async (_, index) => {
      const path = join(dir, nameOf(index));
      return { name: nameOf(index), path, bytes: (await stat(path)).size, orientation: orientationOf(index) };
    }),
  );
}

function nameOf(index: number): string {
  return `photo-${String(index).padStart(4, '0')}.jpg`;
}

function orientationOf(index: number): number {
  return ORIENTATIONS[index % ORIENTATIONS.length]!;
}

/** The encoded JPEG of photo `index`. */
async function makePhoto(index: number): Promise<Buffer> {
  const random = seededRandom(index * 7919 + 17);
  const width = PHOTO_WIDTH;
  const height = PHOTO_HEIGHT;
  // Per channel: a column term and a row term (gradient + two waves each), summed per pixel.
  const columns = [0, 1, 2].map(() => waveTable(width, random));
  const rows = [0, 1, 2].map(() => waveTable(height, random));
  const noise = Buffer.alloc(1 << 20);
  const mask = noise.length - 1;
  for (let i = 0; i < noise.length; i++) noise[i] = Math.floor(random() * 256);
  const amplitude = 24 + Math.floor(random() * 16);
  const pixels = Buffer.allocUnsafe(width * height * 3);
  const [red, green, blue] = columns as [Int16Array, Int16Array, Int16Array];
  let offset = 0;
  let n = Math.floor(random() * noise.length);
  for (let y = 0; y < height; y++) {
    const r0 = rows[0]![y]!;
    const g0 = rows[1]![y]!;
    const b0 = rows[2]![y]!;
    for (let x = 0; x < width; x++) {
      n = (n + 3) & mask;
      // A Buffer clamps nothing: out-of-range values are clamped by hand (0..255).
      const r = r0 + red[x]! + ((noise[n]! * amplitude) >> 8);
      const g = g0 + green[x]! + ((noise[(n + 1) & mask]! * amplitude) >> 8);
      const b = b0 + blue[x]! + ((noise[(n + 2) & mask]! * amplitude) >> 8);
      pixels[offset++] = r < 0 ? 0 : r > 255 ? 255 : r;
      pixels[offset++] = g < 0 ? 0 : g > 255 ? 255 : g;
      pixels[offset++] = b < 0 ? 0 : b > 255 ? 255 : b;
    }
  }
  const taken = new Date(Date.UTC(2024, 0, 1) + index * 3_600_000).toISOString().replace('T', ' ').slice(0, 19).replaceAll('-', ':');
  return sharp(pixels, { raw: { width, height, channels: 3 } })
    .withExif({ IFD0: { Make: 'BenchCam', Model: `Model ${index % 4}`, DateTime: taken }, IFD2: { DateTimeOriginal: taken } })
    .withMetadata({ orientation: orientationOf(index) })
    .jpeg({ quality: 90 })
    .toBuffer();
}

/** One axis of a channel: a linear gradient plus two sine waves of random period and phase, values around 0..200. */
function waveTable(length: number, random: () => number): Int16Array {
  const table = new Int16Array(length);
  const start = random() * 100;
  const slope = (random() - 0.5) * 100;
  const waves = [0, 1].map(() => ({ amplitude: 15 + random() * 35, period: 40 + random() * 900, phase: random() * Math.PI * 2 }));
  for (let i = 0; i < length; i++) {
    let value = start + (slope * i) / length;
    for (const wave of waves) value += wave.amplitude * Math.sin((i / wave.period) * Math.PI * 2 + wave.phase);
    table[i] = Math.round(value);
  }
  return table;
}

