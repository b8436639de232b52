import type { ExifSummary, ImageLimits, ImageMetadata } from '../../processing/images/index.js';
import { isProcessableImage } from './images.js';
import { loadImages } from './processing.js';
import type { StagedUpload } from './staging.js';

/**
 * What an upload's result says about the stored file. size, sha256 and mime
 * describe the stored bytes (after any processing); the image fields are
 * there for images when extractMetadata is on. A subclass may add its own
 * fields (the index signature).
 */
export interface UploadMetadata {
  /** The name the client gave. */
  originalName: string;
  size: number;
  /** Hex sha256 of the stored bytes. */
  sha256: string;
  mime?: string;
  /** sharp's format name of the stored image ('jpeg', 'png', 'webp', 'heif'...). */
  format?: string;
  /** Displayed width of the stored image (upright). */
  width?: number;
  height?: number;
  pages?: number;
  hasAlpha?: boolean;
  /** EXIF orientation of the image as uploaded (1..8; the stored image may be rotated upright). */
  orientation?: number;
  /** EXIF of the image as uploaded: camera, lens, exposure, taken-at, GPS... (processing strips it from the stored image). */
  exif?: ExifSummary;
  /** Why the image's header could not be read (with verifyImages off): its dimensions are then unknown. */
  imageError?: { reason: string; message: string };
  [key: string]: unknown;
}

/**
 * Describes `stored` (the file about to be stored): size, sha256, mime and,
 * with `withImage` and for images, dimensions and format of the stored image
 * and EXIF of the image as received (`stored.original`, or `stored`
 * itself). Reads headers only, never pixels.
 */
export async function describeUpload(stored: StagedUpload, withImage: boolean, limits: Partial<ImageLimits> | undefined): Promise<UploadMetadata> {
  const received = stored.original ?? stored;
  const metadata: UploadMetadata = {
    originalName: received.name,
    size: stored.size,
    sha256: stored.sha256,
    ...(stored.mime !== undefined ? { mime: stored.mime } : {}),
  };
  if (!withImage || !isProcessableImage(stored, limits)) return metadata;
  const { ImageRejectedError, imageMetadata } = await loadImages();
  const options = limits ? { limits } : {};
  let image: ImageMetadata;
  let asReceived: ImageMetadata;
  try {
    image = await imageMetadata(stored.path, options);
    asReceived = received === stored ? image : await imageMetadata(received.path, options);
  } catch (err) {
    if (!(err instanceof ImageRejectedError)) throw err;
    return { ...metadata, imageError: { reason: err.reason, message: err.message } };
  }
  return {
    ...metadata,
    format: image.format,
    width: image.width,
    height: image.height,
    pages: image.pages,
    hasAlpha: image.hasAlpha,
    orientation: asReceived.orientation,
    ...(asReceived.exif !== undefined ? { exif: asReceived.exif } : {}),
  };
}
