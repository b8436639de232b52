import { convert, type ImageFormat, type ImageLimits } from '../../../processing/images/index.js';
import type { MetadataSink, Step, StepContext, StepOutcome } from '../types.js';
import { classifyInput, refusingBadImages, skippedNotAnImage } from './image-input.js';
import { imageDetail, versionWritten, writeStepOutput } from './in-place.js';
import { currentPath, inFolder, withoutExtension } from './job-paths.js';

/** Options of the convert step (config hook `convert`). */
export interface ConvertStepOptions {
  format: ImageFormat;
  /** 1..100, default 80. */
  quality?: number;
  /** Keep the original beside the converted file. Default false: the original is removed. */
  keepOriginal?: boolean;
  /** The watched folder's path inside its disk ('' or absent: the whole disk, or a local folder). */
  folderPath?: string;
  /** When given, the original's metadata record is forgotten when the original is removed. */
  metadata?: MetadataSink;
  limits?: Partial<ImageLimits>;
}

/** The extension a converted file gets. */
const EXTENSION: Readonly<Record<ImageFormat, string>> = { jpeg: 'jpg', png: 'png', webp: 'webp', avif: 'avif' };
/** The sniffed type of an image already in that format (nothing to convert). */
const MIME: Readonly<Record<ImageFormat, string>> = { jpeg: 'image/jpeg', png: 'image/png', webp: 'image/webp', avif: 'image/avif' };

/**
 * Converts an image to `format` (EXIF orientation applied) into
 * `<workDir>/after-<name>` and writes it beside the original, same path with
 * the new extension (folder.writeDerived at `<folderPath>/<path>.<ext>`),
 * then removes the original unless `keepOriginal`. The job's path stays the
 * original's; detail `convertedTo` names the new path (later in-place steps
 * act on it, see currentPath) and `written` its version. The output is
 * handed on. An image already in `format` is skipped; refused images ->
 * 'reject'; non-images pass untouched. Idempotent: a re-run writes the same
 * bytes again and removing an already removed original is fine.
 */
export function convertStep(options: ConvertStepOptions, name = 'convert'): Step {
  return {
    name,
    async run(ctx: StepContext): Promise<StepOutcome> {
      const kind = await classifyInput(ctx.input, options.limits);
      if (!kind.image) return skippedNotAnImage(kind);
      if (kind.mime === MIME[options.format]) return { kind: 'next', detail: { skipped: `already ${options.format}` } };
      return refusingBadImages(name, async () => {
        const image = await convert(ctx.input, {
          format: options.format,
          ...(options.quality !== undefined ? { quality: options.quality } : {}),
          ...(options.limits !== undefined ? { limits: options.limits } : {}),
        });
        const output = await writeStepOutput(ctx, name, image);
        const from = currentPath(ctx);
        const to = `${withoutExtension(from)}.${EXTENSION[options.format]}`;
        let removedOriginal = false;
        if (to === from) {
          await ctx.folder.replace(from, output);
        } else {
          await ctx.folder.writeDerived(inFolder(options.folderPath, to), output);
          if (options.keepOriginal !== true) {
            await ctx.folder.remove(from);
            options.metadata?.remove(ctx.job.watch, inFolder(options.folderPath, from));
            removedOriginal = true;
          }
        }
        const written = await versionWritten(ctx, to);
        return { kind: 'next', output, detail: { convertedTo: to, ...imageDetail(image), removedOriginal, written: written ? [written] : [] } };
      });
    },
  };
}
