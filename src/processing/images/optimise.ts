import { checkDimension, checkFormat, checkQuality, defaultFormatFor, encode, type EncodedImage, type ImageFormat } from './encode.js';
import type { ImageLimits } from './limits.js';
import { openImage, runSharp, type ImageInput, type OpenedImage } from './source.js';

/** Options of optimise(). */
export interface OptimiseOptions {
  /** Largest output width; a wider image is scaled down (aspect kept, never enlarged). */
  maxWidth: number;
  /** Largest output height; a taller image is scaled down (aspect kept, never enlarged). */
  maxHeight: number;
  /** 1..100; default 80. Ignored for PNG. */
  quality?: number;
  /** Output format; default the input's own when it is one of ImageFormat (AVIF for AV1 HEIF), else PNG with alpha, JPEG without. */
  format?: ImageFormat;
  /** Keep EXIF/ICC/XMP. Default false: stripped. */
  keepMetadata?: boolean;
  /** Colour behind transparency when the output is JPEG. Default white. */
  background?: string;
  limits?: Partial<ImageLimits>;
}

/** Options of convert(). */
export interface ConvertOptions {
  format: ImageFormat;
  quality?: number;
  keepMetadata?: boolean;
  background?: string;
  limits?: Partial<ImageLimits>;
}

/**
 * Re-encodes `input` no larger than maxWidth x maxHeight (as displayed: EXIF
 * orientation is applied first), at `quality`, optionally in another format.
 * Same limit checks and errors as thumbnails(). Returns the encoded image;
 * its size is bounded by maxWidth x maxHeight, not by the input.
 */
export async function optimise(input: ImageInput, options: OptimiseOptions): Promise<EncodedImage> {
  const where = 'optimise options';
  const maxWidth = checkDimension(options.maxWidth, 'maxWidth', where);
  const maxHeight = checkDimension(options.maxHeight, 'maxHeight', where);
  const quality = checkQuality(options.quality, where);
  const requested = options.format === undefined ? undefined : checkFormat(options.format, where);
  const image = await openImage(input, options.limits, 'optimise');
  const pipeline = image.pipeline().resize(maxWidth, maxHeight, { fit: 'inside', withoutEnlargement: true });
  return render(image, pipeline, { ...options, quality, format: requested ?? outputFormatOf(image) });
}

/**
 * Re-encodes `input` in `format` at its displayed size (EXIF orientation
 * applied). Same limit checks and errors as thumbnails().
 */
export async function convert(input: ImageInput, options: ConvertOptions): Promise<EncodedImage> {
  const where = 'convert options';
  const format = checkFormat(options.format, where);
  const quality = checkQuality(options.quality, where);
  const image = await openImage(input, options.limits, 'convert');
  return render(image, image.pipeline(), { ...options, quality, format });
}

/** The format optimise() keeps when none is asked for. */
export function outputFormatOf(image: OpenedImage): ImageFormat {
  if (image.format === 'heif' && image.metadata.compression === 'av1') return 'avif';
  return defaultFormatFor(image.format, image.hasAlpha);
}

function render(
  image: OpenedImage,
  pipeline: ReturnType<OpenedImage['pipeline']>,
  options: { format: ImageFormat; quality: number; keepMetadata?: boolean; background?: string },
): Promise<EncodedImage> {
  return runSharp(image.context, () =>
    encode(
      pipeline,
      {
        format: options.format,
        quality: options.quality,
        keepMetadata: options.keepMetadata === true,
        ...(options.background !== undefined ? { background: options.background } : {}),
      },
      image.hasAlpha,
    ),
  );
}
