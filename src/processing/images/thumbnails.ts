import { FsError } from '../../core/errors.js';
import { checkDimension, checkFormat, checkQuality, encode, type EncodedImage, type ImageFormat } from './encode.js';
import type { ImageLimits } from './limits.js';
import { openImage, runSharp, type ImageInput } from './source.js';

/** One thumbnail to make. */
export interface ThumbnailSpec {
  /** Unique among the specs; names the output (e.g. 'small', 'w400'). */
  name: string;
  /** Box width in pixels. */
  width: number;
  /** Box height in pixels. */
  height: number;
  /**
   * 'cover': fill the box exactly, cropping the overflow around the centre;
   * 'inside': scale to fit within the box, keeping the whole picture.
   */
  fit: 'cover' | 'inside';
  format: ImageFormat;
  /** 1..100; default 80. Ignored for PNG. */
  quality?: number;
  /** Scale up a source smaller than the box. Default false: a small source keeps its size (never upscaled). */
  enlarge?: boolean;
}

/** Options shared by all thumbnails of one call. */
export interface ThumbnailOptions {
  /** Safety limits for the input (defaults: DEFAULT_IMAGE_LIMITS). */
  limits?: Partial<ImageLimits>;
  /** Keep EXIF/ICC/XMP in the thumbnails. Default false: stripped (no GPS leaks into thumbnails). */
  keepMetadata?: boolean;
  /** Colour behind transparency in JPEG thumbnails. Default white. */
  background?: string;
}

/** A made thumbnail: the spec's name plus the encoded image. */
export interface Thumbnail extends EncodedImage {
  name: string;
}

/**
 * Makes one thumbnail per spec from `input`, in the order of `specs`.
 *
 * The input passes every limit check first (see openImage: EFBIG for bombs,
 * EBADMSG for truncated or malformed data, EINVAL for non-images); then the
 * EXIF orientation is applied, so a 4000x3000 photo tagged orientation 6
 * yields portrait thumbnails. Metadata is stripped unless `keepMetadata`.
 *
 * Results are returned as buffers (thumbnails are small, and the caller puts
 * them on a disk through a driver, not on the local filesystem). All specs
 * share one input and one set of decode options through sharp's clone(); each
 * clone decodes with shrink-on-load at its own scale, which measured faster
 * here than one full-size decode shared by all sizes (12 MP JPEG, three
 * sizes: ~160-210 ms against ~410 ms). A decode failure in any size rejects
 * the whole call.
 */
export async function thumbnails(input: ImageInput, specs: readonly ThumbnailSpec[], options: ThumbnailOptions = {}): Promise<Thumbnail[]> {
  const checked = checkSpecs(specs);
  const image = await openImage(input, options.limits, 'thumbnails');
  const base = image.pipeline();
  return runSharp(image.context, () =>
    Promise.all(
      checked.map(async (spec) => {
        const resized = base.clone().resize(spec.width, spec.height, {
          fit: spec.fit,
          position: 'centre',
          withoutEnlargement: spec.enlarge !== true,
        });
        const encoded = await encode(
          resized,
          { format: spec.format, quality: spec.quality ?? 80, keepMetadata: options.keepMetadata === true, ...(options.background ? { background: options.background } : {}) },
          image.hasAlpha,
        );
        return { name: spec.name, ...encoded };
      }),
    ),
  );
}

function checkSpecs(specs: readonly ThumbnailSpec[]): ThumbnailSpec[] {
  if (!Array.isArray(specs) || specs.length === 0) {
    throw new FsError('EINVAL', 'thumbnails: expected a non-empty list of thumbnail specs', { op: 'thumbnails' });
  }
  const names = new Set<string>();
  return specs.map((spec, index) => {
    const where = `thumbnail spec ${index} ('${String(spec?.name)}')`;
    if (typeof spec?.name !== 'string' || spec.name.trim() === '') {
      throw new FsError('EINVAL', `${where}: name must be a non-empty string`, { op: 'thumbnails' });
    }
    if (names.has(spec.name)) throw new FsError('EINVAL', `${where}: name '${spec.name}' is used twice`, { op: 'thumbnails' });
    names.add(spec.name);
    if (spec.fit !== 'cover' && spec.fit !== 'inside') {
      throw new FsError('EINVAL', `${where}: fit must be 'cover' or 'inside', got ${JSON.stringify(spec.fit)}`, { op: 'thumbnails' });
    }
    return {
      ...spec,
      width: checkDimension(spec.width, 'width', where),
      height: checkDimension(spec.height, 'height', where),
      format: checkFormat(spec.format, where),
      quality: checkQuality(spec.quality, where),
    };
  });
}
