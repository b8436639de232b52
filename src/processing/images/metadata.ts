import sharp, { type Metadata } from 'sharp';
import { parseExif, type ExifSummary } from './exif.js';
import { resolveLimits, type ImageLimits } from './limits.js';
import { ImageRejectedError, toImageError } from './errors.js';
import { contextOf, type ImageInput } from './source.js';

/** What imageMetadata() reports about one image. */
export interface ImageMetadata {
  /** sharp's format name: 'jpeg', 'png', 'webp', 'gif', 'heif' (AVIF and HEIC), 'tiff'... */
  format: string;
  /** Media type when sharp knows it, e.g. 'image/jpeg'. */
  mediaType?: string;
  /** Width as displayed, after EXIF orientation. */
  width: number;
  /** Height as displayed, after EXIF orientation. */
  height: number;
  /** EXIF orientation 1..8 (1 when absent). */
  orientation: number;
  hasAlpha: boolean;
  /** Frames or pages (1 for a still image). */
  pages: number;
  /** Parsed EXIF, when the image carries any of the fields. */
  exif?: ExifSummary;
}

/** Options of imageMetadata(). */
export interface ImageMetadataOptions {
  /** Only `maxBytes` (for buffers) and `formats` apply: no pixel is decoded, so pixel and frame limits do not. */
  limits?: Partial<ImageLimits>;
}

/**
 * Reads an image's header and EXIF without decoding pixels (async, on
 * libuv's threadpool), so an oversized image is still described (its size is
 * what the index wants to record). Rejects a non-image (EINVAL
 * not-an-image), a format outside `limits.formats` (EINVAL
 * unsupported-format), a corrupt header (EBADMSG), a missing file (ENOENT).
 */
export async function imageMetadata(input: ImageInput, options: ImageMetadataOptions = {}): Promise<ImageMetadata> {
  const limits = resolveLimits(options.limits);
  const context = contextOf(input, 'metadata');
  if (Buffer.isBuffer(input) && input.length > limits.maxBytes) {
    throw new ImageRejectedError('too-large', `metadata ${context.label}: ${input.length} bytes exceeds the limit of ${limits.maxBytes} bytes`, { op: 'metadata' });
  }
  let meta: Metadata;
  try {
    meta = await sharp(input, { limitInputPixels: false, failOn: limits.failOn }).metadata();
  } catch (err) {
    throw toImageError(err, context);
  }
  if (!limits.formats.includes(meta.format)) {
    throw new ImageRejectedError('unsupported-format', `metadata ${context.label}: format '${meta.format}' is not accepted (accepted: ${limits.formats.join(', ')})`, {
      op: 'metadata',
      ...(context.path !== undefined ? { path: context.path } : {}),
    });
  }
  const result: ImageMetadata = {
    format: meta.format,
    width: meta.autoOrient?.width ?? meta.width,
    height: meta.autoOrient?.height ?? meta.height,
    orientation: meta.orientation ?? 1,
    hasAlpha: meta.hasAlpha,
    pages: meta.pages ?? 1,
  };
  if (meta.mediaType !== undefined) result.mediaType = meta.mediaType;
  const exif = parseExif(meta.exif);
  if (exif !== undefined) result.exif = exif;
  return result;
}
