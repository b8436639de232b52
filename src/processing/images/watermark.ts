import sharp from 'sharp';
import { FsError } from '../../core/errors.js';
import { checkFormat, checkQuality, encode, type EncodedImage, type ImageFormat } from './encode.js';
import type { ImageLimits } from './limits.js';
import { outputFormatOf } from './optimise.js';
import { openImage, runSharp, type ImageInput, type OpenedImage } from './source.js';

/** Where the watermark sits on the picture. */
export type WatermarkPosition =
  | 'top-left'
  | 'top'
  | 'top-right'
  | 'left'
  | 'center'
  | 'right'
  | 'bottom-left'
  | 'bottom'
  | 'bottom-right';

const POSITIONS: readonly WatermarkPosition[] = ['top-left', 'top', 'top-right', 'left', 'center', 'right', 'bottom-left', 'bottom', 'bottom-right'];

/** Options of watermark(). */
export interface WatermarkOptions {
  /** The watermark picture (a PNG with transparency, typically), as a path or bytes; checked against the same limits. */
  image: ImageInput;
  /** Default 'bottom-right'. */
  position?: WatermarkPosition;
  /** 0 (invisible) .. 1 (the watermark's own alpha); multiplies its alpha. Default 1. */
  opacity?: number;
  /** Gap in pixels between the watermark and the picture's edges. Default 0. */
  margin?: number;
  /** Output format; default as optimise(). */
  format?: ImageFormat;
  quality?: number;
  keepMetadata?: boolean;
  background?: string;
  limits?: Partial<ImageLimits>;
}

interface Overlay {
  data: Buffer;
  width: number;
  height: number;
}

/**
 * Draws `options.image` over `input` (EXIF orientation applied first) at
 * `position`, `margin` pixels from the edges, with its alpha multiplied by
 * `opacity`. A watermark larger than the room left inside the margins is
 * scaled down to fit; it is never enlarged. The output keeps the input's
 * displayed size. Errors as thumbnails(); EINVAL for bad options.
 */
export async function watermark(input: ImageInput, options: WatermarkOptions): Promise<EncodedImage> {
  const where = 'watermark options';
  const position = options.position ?? 'bottom-right';
  if (!POSITIONS.includes(position)) {
    throw new FsError('EINVAL', `${where}: position must be one of ${POSITIONS.join(', ')}, got ${JSON.stringify(position)}`, { op: 'watermark' });
  }
  const opacity = options.opacity ?? 1;
  if (typeof opacity !== 'number' || !(opacity >= 0 && opacity <= 1)) {
    throw new FsError('EINVAL', `${where}: opacity must be a number from 0 to 1, got ${JSON.stringify(opacity)}`, { op: 'watermark' });
  }
  const margin = options.margin ?? 0;
  if (!Number.isInteger(margin) || margin < 0) {
    throw new FsError('EINVAL', `${where}: margin must be an integer >= 0, got ${JSON.stringify(margin)}`, { op: 'watermark' });
  }
  const quality = checkQuality(options.quality, where);
  const requested = options.format === undefined ? undefined : checkFormat(options.format, where);

  const image = await openImage(input, options.limits, 'watermark');
  const room = { width: image.width - 2 * margin, height: image.height - 2 * margin };
  if (room.width < 1 || room.height < 1) {
    throw new FsError('EINVAL', `${where}: margin ${margin} leaves no room on a ${image.width}x${image.height} image`, { op: 'watermark' });
  }
  const mark = await openImage(options.image, options.limits, 'watermark image');
  const overlay = await prepareOverlay(mark, room, opacity);
  const { left, top } = placement(position, image, overlay, margin);
  const pipeline = image.pipeline().composite([
    { input: overlay.data, raw: { width: overlay.width, height: overlay.height, channels: 4 }, left, top },
  ]);
  const format = requested ?? outputFormatOf(image);
  return runSharp(image.context, () =>
    encode(
      pipeline,
      {
        format,
        quality,
        keepMetadata: options.keepMetadata === true,
        ...(options.background !== undefined ? { background: options.background } : {}),
      },
      image.hasAlpha,
    ),
  );
}

/** The watermark as raw sRGB+alpha pixels, shrunk into `room`, alpha scaled by `opacity`. */
async function prepareOverlay(mark: OpenedImage, room: { width: number; height: number }, opacity: number): Promise<Overlay> {
  return runSharp(mark.context, async () => {
    const { data, info } = await mark
      .pipeline()
      .resize(room.width, room.height, { fit: 'inside', withoutEnlargement: true })
      .toColourspace('srgb')
      .ensureAlpha()
      .raw()
      .toBuffer({ resolveWithObject: true });
    const raw = { width: info.width, height: info.height, channels: 4 as const };
    if (info.channels !== 4) {
      throw new FsError('EIO', `watermark image ${mark.context.label}: expected 4 channels after conversion, got ${info.channels}`, { op: 'watermark' });
    }
    if (opacity === 1) return { data, width: raw.width, height: raw.height };
    // Scale only the alpha band; libvips does it on the threadpool, not in this event loop.
    const faded = await sharp(data, { raw }).linear([1, 1, 1, opacity], [0, 0, 0, 0]).raw().toBuffer();
    return { data: faded, width: raw.width, height: raw.height };
  });
}

function placement(position: WatermarkPosition, base: { width: number; height: number }, overlay: Overlay, margin: number): { left: number; top: number } {
  const spareX = base.width - overlay.width;
  const spareY = base.height - overlay.height;
  const horizontal = position.endsWith('left') ? 'start' : position.endsWith('right') ? 'end' : 'middle';
  const vertical = position.startsWith('top') ? 'start' : position.startsWith('bottom') ? 'end' : 'middle';
  const along = (where: string, spare: number): number =>
    where === 'start' ? margin : where === 'end' ? spare - margin : Math.floor(spare / 2);
  return { left: along(horizontal, spareX), top: along(vertical, spareY) };
}
