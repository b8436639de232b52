import { FsError } from '../../../core/errors.js';
import { ImageRejectedError, watermark, type ImageLimits, type WatermarkPosition } from '../../../processing/images/index.js';
import type { Step, StepContext, StepOutcome } from '../types.js';
import { classifyInput, refusingBadImages, skippedNotAnImage } from './image-input.js';
import { imageDetail, versionWritten, writeStepOutput } from './in-place.js';
import { currentPath } from './job-paths.js';

/** Options of the watermark step (config hook `watermark`). */
export interface WatermarkStepOptions {
  /** The watermark picture: a local path (config resolves it against the config file's folder). */
  image: string;
  /** Default 'bottom-right'. */
  position?: WatermarkPosition;
  /** 0..1, multiplies the watermark's alpha. Default 1. */
  opacity?: number;
  /** Gap in pixels from the picture's edges. Default 0. */
  margin?: number;
  /** 1..100, default 80. */
  quality?: number;
  limits?: Partial<ImageLimits>;
}

/**
 * Draws the watermark over an image (EXIF orientation applied first, same
 * format and size) into `<workDir>/after-<name>`, replaces the folder's file
 * with it and hands it on. Refused images -> 'reject'; non-images pass
 * untouched. Detail: format, dimensions, bytes, `written`. A watermark
 * picture that is itself refused is a configuration error (EINVAL: the job
 * fails), not a reason to reject the dropped file.
 */
export function watermarkStep(options: WatermarkStepOptions, name = 'watermark'): Step {
  return {
    name,
    async run(ctx: StepContext): Promise<StepOutcome> {
      const kind = await classifyInput(ctx.input, options.limits);
      if (!kind.image) return skippedNotAnImage(kind);
      return refusingBadImages(name, async () => {
        const image = await watermark(ctx.input, {
          image: options.image,
          ...(options.position !== undefined ? { position: options.position } : {}),
          ...(options.opacity !== undefined ? { opacity: options.opacity } : {}),
          ...(options.margin !== undefined ? { margin: options.margin } : {}),
          ...(options.quality !== undefined ? { quality: options.quality } : {}),
          ...(options.limits !== undefined ? { limits: options.limits } : {}),
        }).catch((err: unknown) => Promise.reject(blameTheMark(err, options.image)));
        const output = await writeStepOutput(ctx, name, image);
        const path = currentPath(ctx);
        await ctx.folder.replace(path, output);
        const written = await versionWritten(ctx, path);
        return { kind: 'next', output, detail: { ...imageDetail(image), written: written ? [written] : [] } };
      });
    },
  };
}

/** A refusal of the watermark picture (not of the dropped file) becomes a plain EINVAL naming it. */
function blameTheMark(err: unknown, image: string): unknown {
  if (err instanceof ImageRejectedError && err.op === 'watermark image') {
    return new FsError('EINVAL', `watermark hook: the watermark picture '${image}' cannot be used: ${err.message}`, { path: image, op: 'watermark', cause: err });
  }
  return err;
}
