import { FsError } from '../../core/errors.js';

/** How strictly libvips treats damaged pixel data; every level rejects truncated images. */
export type FailOnLevel = 'truncated' | 'error' | 'warning';

/**
 * Safety limits checked before any pixel is decoded. Every image function
 * takes `limits?: Partial<ImageLimits>`; missing fields come from
 * DEFAULT_IMAGE_LIMITS.
 */
export interface ImageLimits {
  /** Most pixels (width x height) one frame may have; larger inputs are decompression bombs (EFBIG). */
  maxPixels: number;
  /** Most frames/pages an animated or multi-page image may declare (EFBIG). Only the first frame is decoded. */
  maxFrames: number;
  /** Most bytes the encoded input may have (EFBIG). */
  maxBytes: number;
  /**
   * libvips' `failOn`: 'truncated' rejects cut-off data, 'error' also rejects
   * decoder errors, 'warning' also rejects warnings (some camera JPEGs carry
   * harmless ones). 'none' is not offered: a truncated image must fail.
   */
  failOn: FailOnLevel;
  /** Most seconds one sharp pipeline may run before it is stopped (ETIMEDOUT); 0 for no limit. */
  timeoutSeconds: number;
  /**
   * Input formats accepted, as sharp names them (`metadata().format`).
   * AVIF and HEIC both report 'heif'. SVG, PDF and the like are left out by
   * default: they are documents that render to pixels, not photos.
   */
  formats: readonly string[];
}

/** 100 megapixels, 1000 frames, 200 MiB, failOn 'error', 120 s, the common raster formats. */
export const DEFAULT_IMAGE_LIMITS: Readonly<ImageLimits> = Object.freeze({
  maxPixels: 100_000_000,
  maxFrames: 1000,
  maxBytes: 200 * 1024 * 1024,
  failOn: 'error',
  timeoutSeconds: 120,
  formats: Object.freeze(['jpeg', 'png', 'webp', 'gif', 'heif', 'tiff']),
});

const FAIL_ON_LEVELS: readonly string[] = ['truncated', 'error', 'warning'];

/** Fills `partial` from the defaults and checks it; EINVAL names a bad field. */
export function resolveLimits(partial: Partial<ImageLimits> = {}): ImageLimits {
  const limits: ImageLimits = { ...DEFAULT_IMAGE_LIMITS, ...stripUndefined(partial) };
  positiveInteger(limits.maxPixels, 'maxPixels');
  positiveInteger(limits.maxFrames, 'maxFrames');
  positiveInteger(limits.maxBytes, 'maxBytes');
  if (!Number.isInteger(limits.timeoutSeconds) || limits.timeoutSeconds < 0) {
    throw invalidLimit('timeoutSeconds', limits.timeoutSeconds, 'an integer >= 0');
  }
  if (!FAIL_ON_LEVELS.includes(limits.failOn)) {
    throw invalidLimit('failOn', limits.failOn, `one of ${FAIL_ON_LEVELS.join(', ')}`);
  }
  if (!Array.isArray(limits.formats) || limits.formats.length === 0) {
    throw invalidLimit('formats', limits.formats, 'a non-empty list of format names');
  }
  return limits;
}

function positiveInteger(value: number, name: string): void {
  if (!Number.isInteger(value) || value <= 0) throw invalidLimit(name, value, 'a positive integer');
}

function invalidLimit(name: string, value: unknown, expected: string): FsError {
  return new FsError('EINVAL', `image limit ${name}: expected ${expected}, got ${JSON.stringify(value)}`, { op: 'config' });
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
