import { FsError, type FsErrorCode } from '../../core/errors.js';

/**
 * Which check refused an upload:
 * - `max-size` (EFBIG): over `maxFileSize`, found before or while staging;
 * - `extension` (EINVAL): not one of `allowedExtensions`;
 * - `type-mismatch` (EINVAL): the content sniffed disagrees with the extension (a `.jpg` that is a script);
 * - `size-mismatch` (EINVAL): fewer or more bytes arrived than the declared `size` (a cut upload);
 * - `virus` (EACCES): clamd found a signature (see `signature`);
 * - an image refusal (EINVAL): `too-many-pixels`, `too-many-frames`, `too-large`, `not-an-image`,
 *   `unsupported-format`, `truncated`, `corrupt` (processing/images' ImageRejection);
 * - any other name a subclass's validate() gives.
 */
export type UploadRejectionRule =
  | 'max-size'
  | 'extension'
  | 'type-mismatch'
  | 'size-mismatch'
  | 'virus'
  | 'too-many-pixels'
  | 'too-many-frames'
  | 'too-large'
  | 'not-an-image'
  | 'unsupported-format'
  | 'truncated'
  | 'corrupt'
  | (string & {});

/** Details of an UploadRejectedError. */
export interface UploadRejectionDetails {
  /** The uploaded file's name, as the client gave it. */
  name?: string;
  /** The signature clamd matched (rule 'virus'). */
  signature?: string;
  cause?: unknown;
}

/**
 * An upload refused for what it is (too big, wrong type, infected, a bad
 * image), never for a failure around it: nothing was stored, and retrying the
 * same file gives the same answer. An FsError: `code` is EFBIG (size), EACCES
 * (infected) or EINVAL (everything else, subclass rules included unless they
 * pick another code); `rule` names the check, `reason` says why in words
 * naming the file and the value at fault, `signature` is set when infected.
 * Every other error out of UploadHandler.handle (clamd down, a backend
 * failure...) is a plain FsError: the upload did not happen and may be retried.
 */
export class UploadRejectedError extends FsError {
  readonly rule: UploadRejectionRule;
  readonly reason: string;
  readonly signature?: string;

  constructor(code: FsErrorCode, rule: UploadRejectionRule, reason: string, details: UploadRejectionDetails = {}) {
    super(code, `upload${details.name !== undefined ? ` '${details.name}'` : ''} rejected (${rule}): ${reason}`, {
      op: 'upload',
      ...(details.name !== undefined ? { path: details.name } : {}),
      ...(details.cause !== undefined ? { cause: details.cause } : {}),
    });
    this.name = 'UploadRejectedError';
    this.rule = rule;
    this.reason = reason;
    if (details.signature !== undefined) this.signature = details.signature;
  }
}

/** True when `err` is an UploadRejectedError (optionally for one of `rules`). */
export function isUploadRejected(err: unknown, ...rules: UploadRejectionRule[]): err is UploadRejectedError {
  return err instanceof UploadRejectedError && (rules.length === 0 || rules.includes(err.rule));
}
