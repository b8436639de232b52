import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import sharp from 'sharp';

/** The sha256 (hex) of `bytes`. */
export function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/**
 * A `width` x `height` JPEG of coloured noise whose tint depends on `seed`:
 * every call gives different bytes (the noise is random), quick to make and
 * to decode.
 */
export function noisyJpeg(seed: number, width = 640, height = 480): Promise<Buffer> {
  const tint = { r: (seed * 53) % 256, g: (seed * 97 + 40) % 256, b: (seed * 31 + 90) % 256 };
  // background is required by the types; noise replaces it.
  return sharp({ create: { width, height, channels: 3, background: '#808080', noise: { type: 'gaussian', mean: 128, sigma: 40 } } })
    .tint(tint)
    .jpeg({ quality: 80 })
    .toBuffer();
}

/**
 * Writes `count` different noisy JPEGs into `root` as
 * `batch-<i % 4>/photo-<i, 3 digits>.jpg`, `parallel` at a time, and
 * resolves to their paths (relative, '/'-separated) and sha256s.
 */
export async function writePhotoFolder(root: string, count: number, parallel = 8): Promise<Map<string, string>> {
  const written = new Map<string, string>();
  for (let start = 0; start < count; start += parallel) {
    const batch = Array.from({ length: Math.min(parallel, count - start) }, (_, k) => start + k);
    await Promise.all(
      batch.map(async (i) => {
        const path = `batch-${i % 4}/photo-${String(i).padStart(3, '0')}.jpg`;
        const bytes = await noisyJpeg(i);
        await mkdir(dirname(join(root, path)), { recursive: true });
        await writeFile(join(root, path), bytes);
        written.set(path, sha256(bytes));
      }),
    );
  }
  return new Map([...written].sort(([a], [b]) => a.localeCompare(b)));
}
