import { tmpdir } from 'node:os';
import { FsError } from '../../core/errors.js';
import { normalizeDirectory } from '../../core/paths.js';
import { parseSize } from '../../core/config/size.js';
import type { Visibility } from '../../drivers/types.js';
import { IMAGE_FORMATS, type ImageFormat } from '../../processing/images/encode.js';
import { resolveLimits, type ImageLimits } from '../../processing/images/limits.js';
import type { WatermarkPosition } from '../../processing/images/watermark.js';
import type { ClamdScanner } from '../../processing/scan/index.js';
import { scannerFrom, type ClamdUploadOptions } from './scanner.js';

/** How a stored file is named (before a free name is picked when it is taken). */
export type UploadNaming = 'original' | 'hash' | 'uuid';

/** One thumbnail box. */
export interface UploadThumbnailSize {
  width: number;
  height: number;
  /** 'cover' fills the box, cropping around the centre; 'inside' fits within it (default 'cover'). */
  fit?: 'cover' | 'inside';
}

/** Thumbnails of image uploads. */
export interface UploadThumbnailsConfig {
  /** Default: 150x150, 300x300 (cover) and 800x600 (inside), as in the seed. */
  sizes?: readonly UploadThumbnailSize[];
  /** Default 'webp'. */
  format?: ImageFormat;
  /** 1..100, default 80. */
  quality?: number;
  /** Folder on the same disk (default `<uploadPath>/thumbnails`). */
  path?: string;
}

/** Scales image uploads down (aspect kept, never enlarged) and re-encodes them. */
export interface UploadOptimiseConfig {
  maxWidth: number;
  maxHeight: number;
  /** 1..100, default 80. */
  quality?: number;
}

/** Stores image uploads in another format (the stored name gets its extension). */
export interface UploadConvertConfig {
  format: ImageFormat;
  /** 1..100, default 80 (or optimise's quality). */
  quality?: number;
}

/** Draws a picture over image uploads. */
export interface UploadWatermarkConfig {
  /** The watermark (a PNG with transparency, typically): a local path or its bytes. */
  image: string | Buffer;
  /** Default 'bottom-right'. */
  position?: WatermarkPosition;
  /** 0..1, default 1. */
  opacity?: number;
  /** Pixels from the edges, default 0. */
  margin?: number;
}

/**
 * What an UploadHandler accepts and does. Every field is optional; the
 * defaults accept any file up to any size and store it under its own name.
 */
export interface UploadConfig {
  /** Largest accepted upload: bytes or a size such as '20MiB' / '5MB'. Enforced while the bytes arrive. */
  maxFileSize?: number | string;
  /** Accepted extensions in any form ('.jpg', 'PNG'); spellings count as one (jpg admits .jpeg); '' admits names without one. */
  allowedExtensions?: readonly string[];
  /** The real type (sniffed from the content) must agree with the extension. Default true. */
  sniff?: boolean;
  /** Folder on the disk the uploads go to (default: the root). */
  uploadPath?: string;
  /** Adds `yyyy/mm/dd/` (UTC upload date) below uploadPath. */
  organizeByDate?: boolean;
  /** 'original' (default, sanitised), 'hash' (sha256 of the stored bytes) or 'uuid'; the extension is kept. */
  naming?: UploadNaming;
  /**
   * Scan every upload with clamd before anything is processed or stored: a
   * ClamdScanner, clamd options, or `true` for Debian's socket
   * /run/clamav/clamd.ctl. Infected: rejected (EACCES). A scanner failure is
   * an error, never a pass.
   */
  virusScan?: ClamdScanner | ClamdUploadOptions | boolean;
  /** Thumbnails of image uploads, stored beside them; `true` for the defaults. */
  thumbnails?: UploadThumbnailsConfig | boolean;
  optimise?: UploadOptimiseConfig;
  convert?: UploadConvertConfig;
  watermark?: UploadWatermarkConfig;
  /** Image dimensions and EXIF summary in the result's metadata. Default true (size, mime and sha256 are always there). */
  extractMetadata?: boolean;
  /** Visibility of stored files (default: the disk's). */
  visibility?: Visibility;
  /** User metadata stored with every upload (where the backend keeps metadata). */
  metadata?: Record<string, string>;
  /**
   * How image uploads are checked after the scan: 'decode' (default: the
   * header against the limits — pixel bombs, too many frames, a corrupt
   * header — then the pixels are decoded, so a truncated image is refused
   * even without an image step; ~0.2 s for 12 megapixels), 'header' (no
   * decoding: a truncated image passes unless an image step decodes it), or
   * false. Every image step decodes anyway, refusing truncated data.
   */
  verifyImages?: 'header' | 'decode' | false;
  /** Limits of every image step (processing/images' ImageLimits; defaults DEFAULT_IMAGE_LIMITS). */
  imageLimits?: Partial<ImageLimits>;
  /** Local folder for the staged copies (default os.tmpdir()). */
  tempDir?: string;
  /** The clock of organizeByDate (default: the system's). */
  now?: () => Date;
}

/** The thumbnails part, with defaults applied. */
export interface ResolvedThumbnails {
  sizes: readonly Required<UploadThumbnailSize>[];
  format: ImageFormat;
  quality: number;
  /** Folder on the disk, normalised ('' = the root). */
  path: string;
}

/** An UploadConfig checked and completed (UploadHandler.config). */
export interface ResolvedUploadConfig {
  maxFileSize: number | undefined;
  allowedExtensions: readonly string[] | undefined;
  sniff: boolean;
  /** Normalised ('' = the disk's root). */
  uploadPath: string;
  organizeByDate: boolean;
  naming: UploadNaming;
  scanner: ClamdScanner | undefined;
  thumbnails: ResolvedThumbnails | undefined;
  optimise: UploadOptimiseConfig | undefined;
  convert: UploadConvertConfig | undefined;
  watermark: UploadWatermarkConfig | undefined;
  extractMetadata: boolean;
  visibility: Visibility | undefined;
  metadata: Record<string, string>;
  verifyImages: 'header' | 'decode' | false;
  imageLimits: Partial<ImageLimits> | undefined;
  tempDir: string;
  now: () => Date;
}

/** The seed's thumbnail sizes. */
export const DEFAULT_THUMBNAIL_SIZES: readonly Required<UploadThumbnailSize>[] = Object.freeze([
  { width: 150, height: 150, fit: 'cover' },
  { width: 300, height: 300, fit: 'cover' },
  { width: 800, height: 600, fit: 'inside' },
]);

const NAMINGS: readonly UploadNaming[] = ['original', 'hash', 'uuid'];
const POSITIONS: readonly WatermarkPosition[] = ['top-left', 'top', 'top-right', 'left', 'center', 'right', 'bottom-left', 'bottom', 'bottom-right'];

/** Checks `config` and fills the defaults; FsError EINVAL names the option at fault. */
export function resolveUploadConfig(config: UploadConfig = {}): ResolvedUploadConfig {
  const uploadPath = normalizeDirectory(config.uploadPath ?? '');
  const naming = config.naming ?? 'original';
  if (!NAMINGS.includes(naming)) invalid('naming', naming, NAMINGS.join(', '));
  const verifyImages = config.verifyImages ?? 'decode';
  if (verifyImages !== 'header' && verifyImages !== 'decode' && verifyImages !== false) invalid('verifyImages', verifyImages, "'header', 'decode' or false");
  if (config.allowedExtensions !== undefined && !isStringList(config.allowedExtensions)) invalid('allowedExtensions', config.allowedExtensions, 'a list of extensions');
  if (config.metadata !== undefined && !isStringRecord(config.metadata)) invalid('metadata', config.metadata, 'an object of string values');
  if (config.visibility !== undefined && config.visibility !== 'public' && config.visibility !== 'private') invalid('visibility', config.visibility, "'public' or 'private'");
  if (config.imageLimits !== undefined) resolveLimits(config.imageLimits);
  return {
    maxFileSize: config.maxFileSize === undefined ? undefined : sizeOption(config.maxFileSize),
    allowedExtensions: config.allowedExtensions,
    sniff: config.sniff ?? true,
    uploadPath,
    organizeByDate: config.organizeByDate === true,
    naming,
    scanner: scannerFrom(config.virusScan),
    thumbnails: thumbnailsOption(config.thumbnails, uploadPath),
    optimise: config.optimise === undefined ? undefined : optimiseOption(config.optimise),
    convert: config.convert === undefined ? undefined : convertOption(config.convert),
    watermark: config.watermark === undefined ? undefined : watermarkOption(config.watermark),
    extractMetadata: config.extractMetadata ?? true,
    visibility: config.visibility,
    metadata: { ...config.metadata },
    verifyImages,
    imageLimits: config.imageLimits,
    tempDir: config.tempDir ?? tmpdir(),
    now: config.now ?? (() => new Date()),
  };
}

function sizeOption(value: number | string): number {
  try {
    return parseSize(value);
  } catch {
    return invalid('maxFileSize', value, "bytes or a size such as '20MiB'");
  }
}

function thumbnailsOption(value: UploadThumbnailsConfig | boolean | undefined, uploadPath: string): ResolvedThumbnails | undefined {
  if (value === undefined || value === false) return undefined;
  const options = value === true ? {} : value;
  const sizes = (options.sizes ?? DEFAULT_THUMBNAIL_SIZES).map((size, i) => {
    const fit = size.fit ?? 'cover';
    if (fit !== 'cover' && fit !== 'inside') invalid(`thumbnails.sizes[${i}].fit`, fit, "'cover' or 'inside'");
    return { width: dimension(size.width, `thumbnails.sizes[${i}].width`), height: dimension(size.height, `thumbnails.sizes[${i}].height`), fit };
  });
  if (sizes.length === 0) invalid('thumbnails.sizes', [], 'at least one size');
  const names = sizes.map((s) => `${s.width}x${s.height}`);
  const twice = names.find((name, i) => names.indexOf(name) !== i);
  if (twice !== undefined) invalid('thumbnails.sizes', twice, 'each size once (both would be stored under one name)');
  return {
    sizes,
    format: format(options.format ?? 'webp', 'thumbnails.format'),
    quality: quality(options.quality ?? 80, 'thumbnails.quality'),
    path: options.path === undefined ? joinDir(uploadPath, 'thumbnails') : normalizeDirectory(options.path),
  };
}

function optimiseOption(value: UploadOptimiseConfig): UploadOptimiseConfig {
  return {
    maxWidth: dimension(value.maxWidth, 'optimise.maxWidth'),
    maxHeight: dimension(value.maxHeight, 'optimise.maxHeight'),
    ...(value.quality !== undefined ? { quality: quality(value.quality, 'optimise.quality') } : {}),
  };
}

function convertOption(value: UploadConvertConfig): UploadConvertConfig {
  return { format: format(value.format, 'convert.format'), ...(value.quality !== undefined ? { quality: quality(value.quality, 'convert.quality') } : {}) };
}

function watermarkOption(value: UploadWatermarkConfig): UploadWatermarkConfig {
  if (typeof value.image !== 'string' && !Buffer.isBuffer(value.image)) invalid('watermark.image', value.image, 'a file path or a Buffer');
  if (value.position !== undefined && !POSITIONS.includes(value.position)) invalid('watermark.position', value.position, POSITIONS.join(', '));
  if (value.opacity !== undefined && !(typeof value.opacity === 'number' && value.opacity >= 0 && value.opacity <= 1)) invalid('watermark.opacity', value.opacity, 'a number from 0 to 1');
  if (value.margin !== undefined && !(Number.isInteger(value.margin) && value.margin >= 0)) invalid('watermark.margin', value.margin, 'an integer >= 0');
  return { ...value };
}

function dimension(value: unknown, option: string): number {
  if (typeof value === 'number' && Number.isInteger(value) && value >= 1 && value <= 65535) return value;
  return invalid(option, value, 'an integer from 1 to 65535');
}

function quality(value: unknown, option: string): number {
  if (typeof value === 'number' && Number.isInteger(value) && value >= 1 && value <= 100) return value;
  return invalid(option, value, 'an integer from 1 to 100');
}

function format(value: unknown, option: string): ImageFormat {
  if (typeof value === 'string' && (IMAGE_FORMATS as readonly string[]).includes(value)) return value as ImageFormat;
  return invalid(option, value, IMAGE_FORMATS.join(', '));
}

function joinDir(dir: string, name: string): string {
  return dir === '' ? name : `${dir}/${name}`;
}

function isStringList(value: unknown): boolean {
  return Array.isArray(value) && value.every((v) => typeof v === 'string');
}

function isStringRecord(value: unknown): boolean {
  return typeof value === 'object' && value !== null && Object.values(value).every((v) => typeof v === 'string');
}

/** Throws the EINVAL of a bad option. */
export function invalid(option: string, value: unknown, expected: string): never {
  const shown = typeof value === 'string' ? `'${value}'` : Buffer.isBuffer(value) ? '<bytes>' : JSON.stringify(value);
  throw new FsError('EINVAL', `upload config ${option}: expected ${expected}, got ${shown}`, { op: 'config' });
}
