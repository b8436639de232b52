import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import sharp from 'sharp';
import type { SourcePhoto } from './thumbs-images.js';

/** One thumbnail box, as the bench's --sizes gives it and the watch config takes it. */
export interface BenchSize {
  width: number;
  height: number;
  fit: 'cover' | 'inside';
}

/** What the thumbnails are made of (the same for the plain script and the pipeline). */
export interface ThumbnailWork {
  sizes: readonly BenchSize[];
  format: 'jpeg' | 'png' | 'webp' | 'avif';
  quality: number;
  /** Files processed at once (the pipeline's hooks.concurrency). */
  concurrency: number;
}

/** The timing of one side of a round. */
export interface SideRun {
  /** Wall time from start until the last thumbnail is written, s. */
  seconds: number;
  files: number;
  thumbnails: number;
  /** Mean ms one file took from its start to its last thumbnail written. */
  meanFileMs: number;
  /** CPU time of the whole process (every thread: libvips, libuv pool, JS) during the run, s: less skewed by other load than wall time. */
  cpuSeconds: number;
}

/** CPU seconds (user + system, all threads) the process used since `from` (process.cpuUsage()). */
export function cpuSecondsSince(from: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(from);
  return (used.user + used.system) / 1e6;
}

/** The name a thumbnail of `photo` gets: the pipeline's `<name without ext>.<w>x<h>.<format>`. */
export function thumbnailName(photoName: string, size: BenchSize, format: string): string {
  return `${photoName.replace(/\.[^.]+$/, '')}.${size.width}x${size.height}.${format}`;
}

/**
 * The plain sharp script: what an application would write without storaged.
 * `concurrency` workers take the photos in order; for each, one sharp input
 * (EXIF orientation applied, as the pipeline does) cloned per size, each
 * clone resized (same fit, centre position, never enlarged) and encoded
 * (same format and quality, metadata stripped: sharp's default) straight to
 * `outDir` with toFile. No staging, no fsync, no records.
 */
export async function runPlain(photos: readonly SourcePhoto[], work: ThumbnailWork, outDir: string): Promise<SideRun> {
  const cpu = process.cpuUsage();
  const started = performance.now();
  await mkdir(outDir, { recursive: true });
  let next = 0;
  let fileMs = 0;
  const worker = async (): Promise<void> => {
    for (let index = next++; index < photos.length; index = next++) {
      const photo = photos[index]!;
      const fileStarted = performance.now();
      const base = sharp(photo.path, { autoOrient: true });
      await Promise.all(
        work.sizes.map((size) =>
          base
            .clone()
            .resize(size.width, size.height, { fit: size.fit, position: 'centre', withoutEnlargement: true })
            .toFormat(work.format, work.format === 'png' ? {} : { quality: work.quality })
            .toFile(join(outDir, thumbnailName(photo.name, size, work.format))),
        ),
      );
      fileMs += performance.now() - fileStarted;
    }
  };
  await Promise.all(Array.from({ length: work.concurrency }, worker));
  const seconds = (performance.now() - started) / 1000;
  const cpuSeconds = cpuSecondsSince(cpu);
  return { seconds, files: photos.length, thumbnails: photos.length * work.sizes.length, meanFileMs: fileMs / photos.length, cpuSeconds };
}
