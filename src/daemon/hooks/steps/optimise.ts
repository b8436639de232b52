import { stat } from 'node:fs/promises';
import { imageMetadata, optimise, type ImageLimits } from '../../../processing/images/index.js';
import type { Step, StepContext, StepOutcome } from '../types.js';
import { classifyInput, refusingBadImages, skippedNotAnImage } from './image-input.js';
import { imageDetail, versionWritten, writeStepOutput } from './in-place.js';
import { currentPath } from './job-paths.js';

/** Options of the optimise step (config hook `optimise`). */
export interface OptimiseStepOptions {
  /** Largest width; wider images are scaled down (aspect kept, never enlarged). */
  maxWidth: number;
  /** Largest height; taller images are scaled down. */
  maxHeight: number;
  /** 1..100, default 80. */
  quality?: number;
  limits?: Partial<ImageLimits>;
}

/**
 * Re-encodes an image no larger than maxWidth x maxHeight (EXIF orientation
 * applied, metadata stripped, same format) into `<workDir>/after-<name>`,
 * replaces the folder's file with it (folder.replace: same bytes again on a
 * re-run) and hands it on as the input of later steps. When nothing was
 * scaled and the result is not smaller than the input, the original is kept
 * (detail `kept: 'original'`). Refused images -> 'reject'; non-images pass
 * untouched. Detail: output format, dimensions, bytes, `written` (the
 * folder's new version).
 */
export function optimiseStep(options: OptimiseStepOptions, name = 'optimise'): Step {
  return {
    name,
    async run(ctx: StepContext): Promise<StepOutcome> {
      const kind = await classifyInput(ctx.input, options.limits);
      if (!kind.image) return skippedNotAnImage(kind);
      return refusingBadImages(name, async () => {
        const before = await imageMetadata(ctx.input, options.limits ? { limits: options.limits } : {});
        const image = await optimise(ctx.input, {
          maxWidth: options.maxWidth,
          maxHeight: options.maxHeight,
          ...(options.quality !== undefined ? { quality: options.quality } : {}),
          ...(options.limits !== undefined ? { limits: options.limits } : {}),
        });
        const inputBytes = (await stat(ctx.input)).size;
        const scaled = image.width !== before.width || image.height !== before.height;
        if (!scaled && image.bytes.length >= inputBytes) {
          return { kind: 'next', detail: { kept: 'original', reason: `re-encoding gave ${image.bytes.length} bytes, not fewer than ${inputBytes}` } };
        }
        const output = await writeStepOutput(ctx, name, image);
        const path = currentPath(ctx);
        await ctx.folder.replace(path, output);
        const written = await versionWritten(ctx, path);
        return { kind: 'next', output, detail: { ...imageDetail(image), before: { width: before.width, height: before.height, bytes: inputBytes }, written: written ? [written] : [] } };
      });
    },
  };
}
