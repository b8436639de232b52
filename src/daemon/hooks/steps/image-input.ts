import { ImageRejectedError, resolveLimits, type ImageLimits } from '../../../processing/images/index.js';
import { sniffFile, type SniffResult } from '../../../processing/sniff/index.js';
import type { StepOutcome } from '../types.js';
import { DECODABLE_FORMAT_OF_MIME } from '../../../processing/images/formats.js';

/** What an image step found its input to be. */
export type ImageInputKind = { image: true; mime: string } | { image: false; mime: string | undefined };

/**
 * Sniffs the input (its first few KiB) and says whether it is an image the
 * image steps process: a type sharp decodes that `limits.formats` accepts.
 * Anything else (a PDF, text, an unknown type) is passed through untouched by
 * those steps. A damaged image of a known type IS an image: sharp then
 * refuses it with a reason (truncated, too many pixels...).
 */
export async function classifyInput(input: string, limits: Partial<ImageLimits> | undefined): Promise<ImageInputKind> {
  return classifySniffed(await sniffFile(input), limits);
}

/** classifyInput for a type already sniffed. */
export function classifySniffed(sniffed: SniffResult | undefined, limits: Partial<ImageLimits> | undefined): ImageInputKind {
  const format = sniffed ? DECODABLE_FORMAT_OF_MIME[sniffed.mime] : undefined;
  if (sniffed && format !== undefined && resolveLimits(limits).formats.includes(format)) return { image: true, mime: sniffed.mime };
  return { image: false, mime: sniffed?.mime };
}

/** The outcome of an image step on an input that is not an image. */
export function skippedNotAnImage(kind: ImageInputKind): StepOutcome {
  return { kind: 'next', detail: { skipped: 'not an image', ...(kind.mime !== undefined ? { mime: kind.mime } : {}) } };
}

/**
 * Runs image work; an ImageRejectedError (pixel bomb, truncated, corrupt...)
 * becomes a 'reject' outcome whose rule is the rejection's reason
 * ('too-many-pixels', 'truncated'...) and whose reason is its message. Every
 * other error is thrown on (the dispatcher decides on retrying).
 */
export async function refusingBadImages(step: string, work: () => Promise<StepOutcome>): Promise<StepOutcome> {
  try {
    return await work();
  } catch (err) {
    if (err instanceof ImageRejectedError) {
      return { kind: 'reject', rule: err.reason, reason: err.message, detail: { step, code: err.code } };
    }
    throw err;
  }
}
