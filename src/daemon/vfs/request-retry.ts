import { setTimeout as sleep } from 'node:timers/promises';
import { isFsError } from '../../core/errors.js';

/** Codes no retry fixes: operations failing with them are given up after a few attempts. */
export const PERMANENT_CODES: ReadonlySet<string> = new Set(['EINVAL', 'ENAMETOOLONG', 'EACCES', 'EPERM', 'ENOTSUP', 'EROFS', 'ENOTDIR', 'EISDIR', 'EEXIST']);

/**
 * Failures a quick retry does not fix: permanent ones, ENOENT (an answer:
 * the caller decides what a missing object means) and an unreachable
 * backend (an outage is left to the operation's own, slower retries, and
 * shows in status at once).
 */
const NOT_RETRIED_HERE: ReadonlySet<string> = new Set([...PERMANENT_CODES, 'ENOENT', 'ECONNREFUSED', 'EHOSTUNREACH']);

/** How often a request is tried, and the first pause between tries (doubling). */
export interface RetryPolicy {
  attempts: number;
  firstPauseMs: number;
}

/** Eight tries, pauses from 100 ms: about 13 s in all before a request fails its background operation. */
export const REQUEST_RETRY: RetryPolicy = { attempts: 8, firstPauseMs: 100 };

/** Four tries, pauses from 50 ms (0.35 s in all): for requests a file system call waits on, such as a listing. */
export const QUICK_RETRY: RetryPolicy = { attempts: 4, firstPauseMs: 50 };

/**
 * Runs one idempotent backend request, retrying transient failures a few
 * times before they fail the operation it belongs to. Operations of several
 * requests (a directory rename makes hundreds) retry each request on its
 * own: restarting the whole operation on any one failure would rarely
 * finish under a steady rate of transient errors. NOT_RETRIED_HERE codes
 * are thrown at once, and so is the last failure once `signal` aborts (a
 * pause ends early).
 */
export async function retryRequest<T>(run: () => Promise<T>, signal?: AbortSignal, policy = REQUEST_RETRY): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await run();
    } catch (err) {
      if (attempt >= policy.attempts || signal?.aborted || (isFsError(err) && NOT_RETRIED_HERE.has(err.code))) throw err;
      const pause = policy.firstPauseMs * 2 ** (attempt - 1);
      await sleep(pause, undefined, signal ? { signal } : {}).catch(() => undefined);
      if (signal?.aborted) throw err;
    }
  }
}
