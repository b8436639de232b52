import { stat } from 'node:fs/promises';
import sharp, { type Metadata, type Sharp } from 'sharp';
import { FsError, fromSystemError } from '../../core/errors.js';
import { ImageRejectedError, toImageError, type ImageErrorContext } from './errors.js';
import { resolveLimits, type ImageLimits } from './limits.js';

/**
 * An image to process: a local file path (libvips reads it itself, we never
 * hold the whole file) or the encoded bytes already in memory.
 */
export type ImageInput = string | Buffer;

/**
 * An input that passed every limit check: its header metadata, its size as
 * displayed (EXIF orientation applied) and a factory of decode pipelines.
 */
export interface OpenedImage {
  /** sharp's header metadata (width/height here are as stored, before orientation). */
  readonly metadata: Metadata;
  /** sharp's input format name: 'jpeg', 'png', 'webp', 'gif', 'heif', 'tiff'... */
  readonly format: string;
  /** Width after EXIF orientation. */
  readonly width: number;
  /** Height after EXIF orientation. */
  readonly height: number;
  readonly hasAlpha: boolean;
  readonly limits: ImageLimits;
  /** Names the input and the operation in error messages. */
  readonly context: ImageErrorContext;
  /**
   * A fresh sharp pipeline over the input: first frame only, EXIF orientation
   * applied (the orientation tag is then dropped), libvips' own pixel limit,
   * failOn level and timeout set. Nothing is decoded until an output call.
   */
  pipeline(): Sharp;
}

/**
 * Checks `input` against `limits` without decoding pixels, in this order:
 * byte size (EFBIG too-large), a readable image header (EINVAL not-an-image,
 * EBADMSG truncated/corrupt), an allowed format (EINVAL unsupported-format),
 * pixels per frame (EFBIG too-many-pixels), frame count (EFBIG
 * too-many-frames). A missing path is ENOENT. Every check is async: libvips
 * reads headers on libuv's threadpool.
 */
export async function openImage(input: ImageInput, partialLimits: Partial<ImageLimits> | undefined, op: string): Promise<OpenedImage> {
  const limits = resolveLimits(partialLimits);
  const context = contextOf(input, op);
  await checkByteSize(input, limits, context);
  let metadata: Metadata;
  try {
    // Header only: the pixel limit is checked below so the message can give the real dimensions.
    metadata = await sharp(input, { limitInputPixels: false, failOn: limits.failOn }).metadata();
  } catch (err) {
    throw toImageError(err, context);
  }
  checkHeader(metadata, limits, context);
  const options = { failOn: limits.failOn, limitInputPixels: limits.maxPixels, autoOrient: true };
  return {
    metadata,
    format: metadata.format,
    width: metadata.autoOrient?.width ?? metadata.width,
    height: metadata.autoOrient?.height ?? metadata.height,
    hasAlpha: metadata.hasAlpha,
    limits,
    context,
    pipeline: () => {
      // `autoOrient: true` is sharp's rotate() with no angle, set at construction so it always runs first.
      const pipeline = sharp(input, options);
      return limits.timeoutSeconds > 0 ? pipeline.timeout({ seconds: limits.timeoutSeconds }) : pipeline;
    },
  };
}

/** Runs sharp work, turning whatever it throws into an FsError for `context`. */
export async function runSharp<T>(context: ImageErrorContext, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    throw toImageError(err, context);
  }
}

/** The error context for `input`: the path, or a description of the buffer. */
export function contextOf(input: ImageInput, op: string): ImageErrorContext {
  if (typeof input === 'string') return { label: `'${input}'`, path: input, op };
  if (Buffer.isBuffer(input)) return { label: `<buffer of ${input.length} bytes>`, op };
  throw new FsError('EINVAL', `${op}: expected a file path or a Buffer, got ${typeof input}`, { op });
}

async function checkByteSize(input: ImageInput, limits: ImageLimits, context: ImageErrorContext): Promise<void> {
  let size: number;
  if (typeof input === 'string') {
    const info = await stat(input).catch((err: unknown) => {
      throw fromSystemError(err, { path: input, op: context.op });
    });
    if (info.isDirectory()) throw new FsError('EISDIR', `${context.op} ${context.label}: is a directory`, { path: input, op: context.op });
    if (!info.isFile()) throw new ImageRejectedError('not-an-image', `${context.op} ${context.label}: not a regular file`, details(context));
    size = info.size;
  } else {
    size = input.length;
  }
  if (size > limits.maxBytes) {
    throw new ImageRejectedError('too-large', `${context.op} ${context.label}: ${size} bytes exceeds the limit of ${limits.maxBytes} bytes`, details(context));
  }
}

function checkHeader(metadata: Metadata, limits: ImageLimits, context: ImageErrorContext): void {
  const say = (what: string): string => `${context.op} ${context.label}: ${what}`;
  if (!limits.formats.includes(metadata.format)) {
    throw new ImageRejectedError('unsupported-format', say(`format '${metadata.format}' is not accepted (accepted: ${limits.formats.join(', ')})`), details(context));
  }
  const pixels = metadata.width * metadata.height;
  if (!(pixels > 0)) {
    throw new ImageRejectedError('corrupt', say(`header declares an empty image (${metadata.width}x${metadata.height})`), details(context));
  }
  if (pixels > limits.maxPixels) {
    throw new ImageRejectedError(
      'too-many-pixels',
      say(`${metadata.width}x${metadata.height} = ${megapixels(pixels)} megapixels exceeds the limit of ${megapixels(limits.maxPixels)} megapixels`),
      details(context),
    );
  }
  const frames = metadata.pages ?? 1;
  if (frames > limits.maxFrames) {
    throw new ImageRejectedError('too-many-frames', say(`${frames} frames exceeds the limit of ${limits.maxFrames} frames`), details(context));
  }
}

function megapixels(pixels: number): string {
  return (pixels / 1_000_000).toFixed(1);
}

function details(context: ImageErrorContext): { path?: string; op: string } {
  return context.path !== undefined ? { path: context.path, op: context.op } : { op: context.op };
}
