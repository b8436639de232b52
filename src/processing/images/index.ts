/**
 * Image processing for storaged's hooks: thumbnails, optimisation, format
 * conversion, watermarks and metadata/EXIF, as pure async functions over a
 * local file path or a Buffer. No daemon state, no watchers.
 *
 * Threading: every sharp call here is async. libvips decodes and encodes on
 * libuv's threadpool (UV_THREADPOOL_SIZE, default 4, bounds how many images
 * run at once), never on the caller's event loop; `sharp.concurrency(n)` sets
 * how many libvips threads work on one image. The only synchronous work is
 * parsing the (bounded) EXIF block. A long-running daemon processing many
 * distinct files may also want `sharp.cache(false)` so libvips keeps no open
 * files or decoded images between jobs; these functions leave such global
 * settings to their caller.
 *
 * Safety: every input is checked before any pixel is decoded (bytes, format,
 * pixels per frame, frame count; see ImageLimits), libvips enforces the pixel
 * limit again, and truncated data always fails (failOn is at least
 * 'truncated'). Refusals are ImageRejectedError (an FsError: EFBIG, EINVAL or
 * EBADMSG, with a `reason`).
 */
export { ImageRejectedError, type ImageRejection } from './errors.js';
export { DEFAULT_IMAGE_LIMITS, resolveLimits, type FailOnLevel, type ImageLimits } from './limits.js';
export { IMAGE_FORMATS, DEFAULT_QUALITY, type EncodedImage, type ImageFormat } from './encode.js';
export { openImage, type ImageInput, type OpenedImage } from './source.js';
export { thumbnails, type Thumbnail, type ThumbnailOptions, type ThumbnailSpec } from './thumbnails.js';
export { optimise, convert, type ConvertOptions, type OptimiseOptions } from './optimise.js';
export { watermark, type WatermarkOptions, type WatermarkPosition } from './watermark.js';
export { imageMetadata, type ImageMetadata, type ImageMetadataOptions } from './metadata.js';
export { parseExif, exifDate, type ExifExposure, type ExifGps, type ExifLens, type ExifSummary } from './exif.js';
export { readExifDirectories, type ExifDirectories, type TiffDirectory, type TiffValue } from './tiff.js';
