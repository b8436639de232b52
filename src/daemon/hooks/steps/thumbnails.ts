import { writeFile } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { FsError, fromSystemError } from '../../../core/errors.js';
import { normalizeDirectory } from '../../../core/paths.js';
import { thumbnails, type ImageFormat, type ImageLimits, type ThumbnailSpec } from '../../../processing/images/index.js';
import type { Step, StepContext, StepOutcome } from '../types.js';
import { throwIfAborted } from './files.js';
import { classifyInput, refusingBadImages, skippedNotAnImage } from './image-input.js';
import { withoutExtension } from './job-paths.js';

/** One thumbnail box (config `sizes[]`). */
export interface ThumbnailSize {
  width: number;
  height: number;
  /** 'cover' fills the box, cropping around the centre; 'inside' fits within it. Default 'cover'. */
  fit?: 'cover' | 'inside';
}

/** Options of the thumbnails step (config hook `thumbnails`). */
export interface ThumbnailsStepOptions {
  /**
   * The folder the thumbnails go to: relative to the disk's root for a folder
   * inside a disk, to the folder's root for a local folder (DropFolder.writeDerived).
   */
  to: string;
  sizes: readonly ThumbnailSize[];
  /** Default 'webp'. */
  format?: ImageFormat;
  /** 1..100, default 80. */
  quality?: number;
  limits?: Partial<ImageLimits>;
}

/** One thumbnail the step made, as its detail lists it. */
export interface MadeThumbnail {
  path: string;
  width: number;
  height: number;
  format: ImageFormat;
  bytes: number;
}

/**
 * Makes every configured thumbnail of an image (EXIF orientation applied),
 * each written to the work folder and then placed with folder.writeDerived at
 * `<to>/<path without extension>.<width>x<height>.<format>` (deterministic:
 * a re-run overwrites the same files). Refused images (pixel bomb,
 * truncated...) -> 'reject'; non-images pass untouched. Detail: `{ thumbnails: MadeThumbnail[] }`.
 * Throws EINVAL at once for an empty or duplicated size list or a `to` that
 * climbs out of its root.
 */
export function thumbnailsStep(options: ThumbnailsStepOptions, name = 'thumbnails'): Step {
  const to = normalizeDirectory(options.to);
  const format = options.format ?? 'webp';
  const specs = specsOf(options, format);
  return {
    name,
    async run(ctx: StepContext): Promise<StepOutcome> {
      const kind = await classifyInput(ctx.input, options.limits);
      if (!kind.image) return skippedNotAnImage(kind);
      return refusingBadImages(name, async () => {
        const made = await thumbnails(ctx.input, specs, options.limits ? { limits: options.limits } : {});
        const base = withoutExtension(ctx.job.path);
        // Placed side by side (each a durable write of its own), listed in the configured order.
        const listed = await Promise.all(
          made.map(async (thumbnail): Promise<MadeThumbnail> => {
            const target = posix.join(to, `${base}.${thumbnail.name}.${format}`);
            throwIfAborted(ctx.signal, ctx.job.path);
            if (ctx.folder.writeDerivedBytes !== undefined) {
              await ctx.folder.writeDerivedBytes(target, thumbnail.bytes);
            } else {
              const local = join(ctx.workDir, `thumbnail-${thumbnail.name}.${format}`);
              // A scratch file nothing refers to after the step: no fsync (a re-run makes it again); writeDerived's copy is durable.
              await writeFile(local, thumbnail.bytes).catch((err: unknown) => Promise.reject(fromSystemError(err, { path: local, op: 'thumbnails' })));
              await ctx.folder.writeDerived(target, local);
            }
            return { path: target, width: thumbnail.width, height: thumbnail.height, format, bytes: thumbnail.bytes.length };
          }),
        );
        return { kind: 'next', detail: { thumbnails: listed } };
      });
    },
  };
}

function specsOf(options: ThumbnailsStepOptions, format: ImageFormat): ThumbnailSpec[] {
  if (!Array.isArray(options.sizes) || options.sizes.length === 0) {
    throw new FsError('EINVAL', 'thumbnails hook: `sizes` must list at least one size', { op: 'config' });
  }
  const seen = new Set<string>();
  return options.sizes.map((size) => {
    const name = `${size.width}x${size.height}`;
    if (seen.has(name)) throw new FsError('EINVAL', `thumbnails hook: size ${name} is listed twice (both would write the same file)`, { op: 'config' });
    seen.add(name);
    return { name, width: size.width, height: size.height, fit: size.fit ?? 'cover', format, ...(options.quality !== undefined ? { quality: options.quality } : {}) };
  });
}
