import type { Sharp } from 'sharp';
import { FsError } from '../../core/errors.js';

/** Output formats the image functions write. */
export type ImageFormat = 'jpeg' | 'png' | 'webp' | 'avif';

/** All ImageFormat values, for validation. */
export const IMAGE_FORMATS: readonly ImageFormat[] = ['jpeg', 'png', 'webp', 'avif'];

/** One encoded output image, held in memory (outputs are bounded by the requested sizes). */
export interface EncodedImage {
  format: ImageFormat;
  /** Pixel width of the output. */
  width: number;
  /** Pixel height of the output. */
  height: number;
  /** The encoded bytes; `bytes.length` is the output size. */
  bytes: Buffer;
}

/** How to encode: format, quality 1..100 (ignored by PNG), metadata policy and the fill for dropped transparency. */
export interface EncodeOptions {
  format: ImageFormat;
  quality: number;
  /** Keep EXIF/ICC/XMP from the input (orientation is already applied and reset). Default false: stripped. */
  keepMetadata?: boolean;
  /** Colour behind transparent pixels when encoding to JPEG. Default white. */
  background?: string;
}

/** Default quality when a caller gives none. */
export const DEFAULT_QUALITY = 80;

/**
 * Sets the output encoder on `pipeline` and renders it to a buffer (async,
 * on libuv's threadpool). Metadata is stripped unless `keepMetadata`; an
 * image with alpha is flattened onto `background` for JPEG, which has none.
 */
export async function encode(pipeline: Sharp, options: EncodeOptions, hasAlpha: boolean): Promise<EncodedImage> {
  let out = pipeline;
  if (options.keepMetadata === true) out = out.keepMetadata();
  if (options.format === 'jpeg' && hasAlpha) out = out.flatten({ background: options.background ?? '#ffffff' });
  switch (options.format) {
    case 'jpeg':
      out = out.jpeg({ quality: options.quality });
      break;
    case 'png':
      out = out.png();
      break;
    case 'webp':
      out = out.webp({ quality: options.quality });
      break;
    case 'avif':
      out = out.avif({ quality: options.quality });
      break;
  }
  const { data, info } = await out.toBuffer({ resolveWithObject: true });
  return { format: options.format, width: info.width, height: info.height, bytes: data };
}

/** Checks a format name; EINVAL names the bad value and `where` it came from. */
export function checkFormat(format: unknown, where: string): ImageFormat {
  if (typeof format === 'string' && (IMAGE_FORMATS as readonly string[]).includes(format)) return format as ImageFormat;
  throw new FsError('EINVAL', `${where}: format must be one of ${IMAGE_FORMATS.join(', ')}, got ${JSON.stringify(format)}`, { op: 'image' });
}

/** Checks a quality (integer 1..100, default DEFAULT_QUALITY); EINVAL names the bad value. */
export function checkQuality(quality: unknown, where: string): number {
  if (quality === undefined) return DEFAULT_QUALITY;
  if (typeof quality === 'number' && Number.isInteger(quality) && quality >= 1 && quality <= 100) return quality;
  throw new FsError('EINVAL', `${where}: quality must be an integer from 1 to 100, got ${JSON.stringify(quality)}`, { op: 'image' });
}

/** Checks a pixel dimension (positive integer up to 65535, libvips' largest); EINVAL names the bad value. */
export function checkDimension(value: unknown, name: string, where: string): number {
  if (typeof value === 'number' && Number.isInteger(value) && value >= 1 && value <= 65535) return value;
  throw new FsError('EINVAL', `${where}: ${name} must be an integer from 1 to 65535, got ${JSON.stringify(value)}`, { op: 'image' });
}

/** The output format to use when a caller names none: the input's own if writable, else PNG with alpha, JPEG without. */
export function defaultFormatFor(inputFormat: string, hasAlpha: boolean): ImageFormat {
  if ((IMAGE_FORMATS as readonly string[]).includes(inputFormat)) return inputFormat as ImageFormat;
  return hasAlpha ? 'png' : 'jpeg';
}
