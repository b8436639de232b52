import { writeFile } from 'node:fs/promises';
import { fromSystemError } from '../../core/errors.js';
import type { EncodedImage, ImageLimits, ThumbnailSpec } from '../../processing/images/index.js';
import { resolveLimits } from '../../processing/images/limits.js';
import type { ResolvedThumbnails, ResolvedUploadConfig } from './config.js';
import { UploadRejectedError } from './errors.js';
import { extensionOfFormat, splitExtension } from './naming.js';
import { loadImages, loadSniff } from './processing.js';
import { deriveStaged, workPath, type StagedUpload } from './staging.js';
import { DECODABLE_FORMAT_OF_MIME } from '../../processing/images/formats.js';

/** A thumbnail made in memory (bounded by its box), not stored yet. */
export interface PreparedThumbnail {
  /** The configured box, which names the stored file. */
  box: { width: number; height: number };
  /** The thumbnail's own size (an 'inside' fit is smaller than its box on one side). */
  width: number;
  height: number;
  format: string;
  bytes: Buffer;
}

/**
 * True when the content is an image the image steps process: sniffed as a
 * type sharp decodes that `limits.formats` accepts. Anything else (PDF, text,
 * BMP...) passes the image steps untouched. A damaged file of an image type
 * IS an image: the steps then refuse it with a reason.
 */
export function isProcessableImage(staged: StagedUpload, limits: Partial<ImageLimits> | undefined): boolean {
  const format = staged.sniffed ? DECODABLE_FORMAT_OF_MIME[staged.sniffed.mime] : undefined;
  return format !== undefined && resolveLimits(limits).formats.includes(format);
}

/** verifyImages: 'header' checks the header against the limits, 'decode' also decodes a small rendition (truncated data fails). */
export async function verifyImage(staged: StagedUpload, mode: 'header' | 'decode', limits: Partial<ImageLimits> | undefined): Promise<void> {
  const images = await loadImages();
  if (mode === 'header') {
    await images.openImage(staged.path, limits, 'verify');
    return;
  }
  const probe: ThumbnailSpec = { name: 'verify', width: 64, height: 64, fit: 'inside', format: 'png' };
  await images.thumbnails(staged.path, [probe], limits ? { limits } : {});
}

/**
 * The configured optimise, watermark and convert of an image, in that order,
 * with as few re-encodings as possible (convert's format is given to the
 * first step that encodes). Resolves `staged` itself when none is configured.
 */
export async function applyImageSteps(staged: StagedUpload, config: ResolvedUploadConfig): Promise<StagedUpload> {
  const images = await loadImages();
  const limits = config.imageLimits ? { limits: config.imageLimits } : {};
  const format = config.convert?.format;
  const quality = config.convert?.quality ?? config.optimise?.quality;
  const encoding = { ...(format ? { format } : {}), ...(quality !== undefined ? { quality } : {}), ...limits };
  let current = staged;
  if (config.optimise) {
    current = await storeEncoded(current, await images.optimise(current.path, { maxWidth: config.optimise.maxWidth, maxHeight: config.optimise.maxHeight, ...encoding }), 'optimised');
  }
  if (config.watermark) {
    const { image, position, opacity, margin } = config.watermark;
    const placed = { image, ...(position ? { position } : {}), ...(opacity !== undefined ? { opacity } : {}), ...(margin !== undefined ? { margin } : {}) };
    current = await storeEncoded(current, await images.watermark(current.path, { ...placed, ...encoding }), 'watermarked');
  }
  if (config.convert && current === staged) {
    current = await storeEncoded(current, await images.convert(current.path, { format: config.convert.format, ...encoding }), 'converted');
  }
  return current;
}

/**
 * Writes an encoded image into the upload's work folder and describes it
 * (size, sha256, type). The name takes the extension of the new format when
 * the old one does not spell it (photo.png as webp -> photo.webp).
 */
export async function storeEncoded(from: StagedUpload, image: EncodedImage, label: string): Promise<StagedUpload> {
  const path = workPath(from, label);
  await writeFile(path, image.bytes).catch((err: unknown) => Promise.reject(fromSystemError(err, { path, op: 'upload' })));
  const { canonicalExtension } = await loadSniff();
  const [stem, extension] = splitExtension(from.name);
  const wanted = extensionOfFormat(image.format);
  const name = canonicalExtension(extension) === canonicalExtension(wanted) ? from.name : `${stem}${wanted}`;
  return deriveStaged(from, path, name);
}

/** Every configured thumbnail of an image, in the order of the sizes (EXIF orientation applied, metadata stripped). */
export async function makeThumbnails(staged: StagedUpload, config: ResolvedThumbnails, limits: Partial<ImageLimits> | undefined): Promise<PreparedThumbnail[]> {
  const specs: ThumbnailSpec[] = config.sizes.map((size) => ({
    name: `${size.width}x${size.height}`,
    width: size.width,
    height: size.height,
    fit: size.fit,
    format: config.format,
    quality: config.quality,
  }));
  const made = await (await loadImages()).thumbnails(staged.path, specs, limits ? { limits } : {});
  return made.map((thumbnail, i) => {
    const size = config.sizes[i] as ResolvedThumbnails['sizes'][number];
    return { box: { width: size.width, height: size.height }, width: thumbnail.width, height: thumbnail.height, format: thumbnail.format, bytes: thumbnail.bytes };
  });
}

/**
 * Runs image work for the upload `name`; an image refusal
 * (ImageRejectedError: a pixel bomb, truncated or malformed data...) becomes
 * an UploadRejectedError EINVAL whose rule is the refusal's reason.
 */
export async function rejectingBadImages<T>(name: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    const { ImageRejectedError } = await loadImages();
    if (err instanceof ImageRejectedError) throw new UploadRejectedError('EINVAL', err.reason, err.message, { name, cause: err });
    throw err;
  }
}
