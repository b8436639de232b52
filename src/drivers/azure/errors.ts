import { FsError, fromSystemError, type FsErrorCode } from '../../core/errors.js';

/** The fields of an Azure SDK RestError this module reads (duck-typed: errors cross package copies). */
interface AzureErrorShape {
  statusCode?: number;
  code?: string;
  details?: { errorCode?: string };
  message?: string;
}

/** Error codes of a 409 that mean "the blob is in the Archive tier": reading it needs a rehydration first. */
const ARCHIVED = new Set(['BlobArchived', 'BlobBeingRehydrated']);
/** 409 codes that mean another client holds the blob (lease, pending copy). */
const BUSY = new Set(['LeaseIdMissing', 'LeaseAlreadyPresent', 'LeaseIsBreakingAndCannotBeAcquired', 'PendingCopyOperation']);
/** 400 codes that mean the name or an argument we sent is invalid. */
const INVALID = new Set(['InvalidResourceName', 'InvalidUri', 'InvalidMetadata', 'InvalidHeaderValue', 'OutOfRangeInput', 'InvalidQueryParameterValue']);

/**
 * Maps an Azure SDK error to an FsError naming the key and the operation:
 * 404 → ENOENT (a missing container says so); 401/403 → EACCES (wrong key,
 * expired or tampered SAS); 409 on an archived blob → EACCES, because the
 * blob exists but cannot be read until it is rehydrated, which no retry
 * fixes (EIO would invite pointless retries); lease conflicts → EBUSY; other
 * 409 → EIO; invalid names/metadata → EINVAL; 413 and too many blocks →
 * EFBIG; 429/503 → EAGAIN; other 5xx → EIO; errors without an HTTP status
 * (ECONNREFUSED, DNS...) through fromSystemError.
 */
export function mapAzureError(err: unknown, key: string, op: string, container: string): FsError {
  if (err instanceof FsError) return err;
  const shape = (typeof err === 'object' && err !== null ? err : {}) as AzureErrorShape;
  const status = shape.statusCode;
  if (typeof status !== 'number' || status === 0) return fromSystemError(err, { path: key, op });
  const code = shape.code ?? shape.details?.errorCode ?? '';
  const fail = (fsCode: FsErrorCode, reason: string) =>
    new FsError(fsCode, `${op} '${key}': ${reason} (azure ${status}${code ? ' ' + code : ''})`, { path: key, op, cause: err });
  switch (true) {
    case status === 404 && code === 'ContainerNotFound':
      return fail('ENOENT', `container '${container}' does not exist`);
    case status === 404:
      return fail('ENOENT', 'no such blob');
    case status === 401 || status === 403:
      return fail('EACCES', 'access denied: check the account key, SAS token or its permissions and expiry');
    case status === 409 && ARCHIVED.has(code):
      return fail('EACCES', 'the blob is archived (Archive access tier): rehydrate it to Hot, Cool or Cold before reading');
    case status === 409 && BUSY.has(code):
      return fail('EBUSY', 'the blob is leased or being copied by another client');
    case status === 409 && code === 'BlockCountExceedsLimit':
      return fail('EFBIG', 'the blob would exceed 50,000 blocks');
    case status === 409 && code === 'ContainerBeingDeleted':
      return fail('EAGAIN', `container '${container}' is being deleted`);
    case status === 400 && INVALID.has(code):
      return fail('EINVAL', shape.message?.split('\n')[0] ?? 'invalid request');
    case status === 413:
      return fail('EFBIG', 'the request body is too large');
    case status === 429 || status === 503:
      return fail('EAGAIN', 'the service is busy, retry later');
    default:
      return fail('EIO', shape.message?.split('\n')[0] ?? 'request failed');
  }
}

/** True when the error is an HTTP answer with this status. */
export function hasStatus(err: unknown, status: number): boolean {
  return typeof err === 'object' && err !== null && (err as AzureErrorShape).statusCode === status;
}

/** The SDK error code (x-ms-error-code) of an HTTP error, if any. */
export function errorCode(err: unknown): string | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const shape = err as AzureErrorShape;
  return shape.code ?? shape.details?.errorCode;
}

/**
 * Runs `fn` with an AbortSignal that fires after `timeoutMs` or when `outer`
 * aborts. The SDK's own tryTimeoutInMs only asks the server to time out, so
 * this is what keeps a silent endpoint from hanging us: an expired deadline
 * becomes ETIMEDOUT, a caller abort ECANCELED. The timer and the link to
 * `outer` are released when `fn` settles (a download stream returned by `fn`
 * is not cut by the deadline afterwards).
 */
export async function withDeadline<T>(
  timeoutMs: number,
  outer: AbortSignal | undefined,
  where: { key: string; op: string },
  fn: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort();
  }, timeoutMs);
  const forward = () => controller.abort();
  if (outer?.aborted) controller.abort();
  else outer?.addEventListener('abort', forward, { once: true });
  try {
    return await fn(controller.signal);
  } catch (err) {
    if (timedOut) {
      throw new FsError('ETIMEDOUT', `${where.op} '${where.key}': azure did not answer within ${timeoutMs / 1000} s`, { ...where, cause: err });
    }
    if (outer?.aborted) throw new FsError('ECANCELED', `${where.op} '${where.key}': aborted by the caller`, { ...where, cause: err });
    throw err;
  } finally {
    clearTimeout(timer);
    outer?.removeEventListener('abort', forward);
  }
}
