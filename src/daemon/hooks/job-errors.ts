import { FsError } from '../../core/errors.js';
import type { JobError } from './job-store.js';

/**
 * FsError codes a job retries with backoff: the scanner or a backend down
 * or slow (ECONNREFUSED, ECONNRESET, EPIPE, EHOSTUNREACH, ETIMEDOUT),
 * throttled or busy (EAGAIN, EBUSY), a disk full for now (ENOSPC), an I/O
 * failure (EIO), and EFBIG: clamd refusing a stream over its size limit
 * (the scan holds the file back until the limit is raised). Any other
 * error, and any error that is not an FsError, ends the job 'failed' at once.
 */
export const TRANSIENT_CODES: readonly string[] = [
  'EIO',
  'EAGAIN',
  'ETIMEDOUT',
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'EHOSTUNREACH',
  'EBUSY',
  'ENOSPC',
  'EFBIG',
];

/** Attempts of one step (the first run included) before a transient failure ends the job 'failed'. */
export const MAX_STEP_ATTEMPTS = 5;

/** Names of the steps a transient failure never ends: they retry until they pass ("a scan failure holds the file back"). */
export const RETRY_FOREVER_STEPS: readonly string[] = ['scan'];

/** True when `err` is an FsError whose code is in TRANSIENT_CODES. */
export function isTransient(err: unknown): err is FsError {
  return err instanceof FsError && TRANSIENT_CODES.includes(err.code);
}

/** The code and message a job records for `err` (a non-FsError: its own string code, else its name). */
export function toJobError(err: unknown): JobError {
  if (err instanceof FsError) return { code: err.code, message: err.message };
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return { code: typeof code === 'string' && code !== '' ? code : err.name || 'Error', message: err.message };
  }
  return { code: 'Error', message: String(err) };
}

/**
 * Whether a job whose current step failed with `err` after `attempts`
 * failed runs of that step (this one included) is retried later.
 */
export function shouldRetry(err: unknown, stepName: string, attempts: number): boolean {
  if (!isTransient(err)) return false;
  return RETRY_FOREVER_STEPS.includes(stepName) || attempts < MAX_STEP_ATTEMPTS;
}
