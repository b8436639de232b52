import { FsError, fromSystemError, type FsErrorCode } from '../../core/errors.js';

/**
 * Why an image was refused. Each reason maps to one FsError code:
 * - `too-large`        EFBIG   the input has more bytes than `limits.maxBytes`
 * - `too-many-pixels`  EFBIG   width x height of a frame exceeds `limits.maxPixels` (a decompression bomb)
 * - `too-many-frames`  EFBIG   an animated/multi-page image has more than `limits.maxFrames` frames
 * - `not-an-image`     EINVAL  no decoder recognises the bytes (a script named .jpg, an empty file)
 * - `unsupported-format` EINVAL a real image in a format the limits do not allow (e.g. SVG by default)
 * - `truncated`        EBADMSG the image data ends early (a cut-off upload)
 * - `corrupt`          EBADMSG the decoder failed on malformed data
 * None of these get better by retrying: the daemon records them as final failures.
 */
export type ImageRejection =
  | 'too-large'
  | 'too-many-pixels'
  | 'too-many-frames'
  | 'not-an-image'
  | 'unsupported-format'
  | 'truncated'
  | 'corrupt';

const CODE_OF: Record<ImageRejection, FsErrorCode> = {
  'too-large': 'EFBIG',
  'too-many-pixels': 'EFBIG',
  'too-many-frames': 'EFBIG',
  'not-an-image': 'EINVAL',
  'unsupported-format': 'EINVAL',
  truncated: 'EBADMSG',
  corrupt: 'EBADMSG',
};

/**
 * An image refused for a reason in its content (see ImageRejection). It is an
 * FsError, so callers branch on `code` as everywhere else, and may read
 * `reason` for the finer cause to record. The message names the input and the
 * problem, e.g. "image 'a.png': 50000x50000 = 2500.0 megapixels exceeds the limit of 100 megapixels".
 */
export class ImageRejectedError extends FsError {
  readonly reason: ImageRejection;

  constructor(reason: ImageRejection, message: string, details: { path?: string; op?: string; cause?: unknown } = {}) {
    super(CODE_OF[reason], message, details);
    this.name = 'ImageRejectedError';
    this.reason = reason;
  }
}

/** Where an error happened, for messages: the file path, or a description of a buffer. */
export interface ImageErrorContext {
  /** Human label of the input: `'photo.jpg'` or `<buffer of 123 bytes>`. */
  label: string;
  /** The input path when the input is a file. */
  path?: string;
  /** What was being done: "thumbnails", "optimise", "watermark", "metadata"... */
  op: string;
}

/**
 * Turns an error thrown by sharp/libvips into an FsError. libvips only reports
 * strings, so this is the one place that reads its message text (as drivers do
 * with vendor errors at their boundary); nothing above it parses messages.
 * Invalid parameters (our bug or a bad option) become EINVAL, timeouts
 * ETIMEDOUT, a missing file ENOENT, anything unrecognised EIO.
 */
export function toImageError(err: unknown, ctx: ImageErrorContext): FsError {
  if (err instanceof FsError) return err;
  const text = err instanceof Error ? err.message : String(err);
  const details = { op: ctx.op, cause: err, ...(ctx.path !== undefined ? { path: ctx.path } : {}) };
  const say = (what: string): string => `${ctx.op} ${ctx.label}: ${what}`;
  const firstLine = text.split('\n')[0] ?? text;

  if (/exceeds pixel limit/i.test(text)) {
    return new ImageRejectedError('too-many-pixels', say(`image exceeds the pixel limit (${firstLine})`), details);
  }
  if (/unsupported image format|Buffer is empty|Input file is empty/i.test(text)) {
    return new ImageRejectedError('not-an-image', say(`not an image: no decoder recognises its content (${firstLine})`), details);
  }
  if (/Input file is missing/i.test(text)) {
    return new FsError('ENOENT', say('no such file'), details);
  }
  if (/^timeout\b/i.test(text)) {
    return new FsError('ETIMEDOUT', say(`processing took longer than the time limit (${firstLine})`), details);
  }
  if (/premature end|unexpected end|truncated|end of (file|data|stream)|not enough data|short read/i.test(text)) {
    return new ImageRejectedError('truncated', say(`image data is truncated (${firstLine})`), details);
  }
  if (/^Expected |Invalid parameter/i.test(text)) {
    return new FsError('EINVAL', say(`invalid image option (${firstLine})`), details);
  }
  if (/corrupt|read error|invalid|bad |unable to parse|not a |VipsJpeg|vipspng|\w+load(_\w+)?:/i.test(text)) {
    return new ImageRejectedError('corrupt', say(`image data is malformed (${firstLine})`), details);
  }
  return fromSystemError(err, details);
}
