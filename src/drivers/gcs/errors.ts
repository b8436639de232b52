import { FsError, fromSystemError, type FsErrorCode } from '../../core/errors.js';

/**
 * HTTP status → FsError code for the GCS JSON API. 409 (conflict, e.g. a
 * generation race) and 412 (a failed precondition) are EIO: the request was
 * understood but the object changed under it; retrying the whole operation is
 * the caller's decision. 501 is what the emulator answers for routes it lacks.
 */
const STATUS_CODES: Record<number, FsErrorCode> = {
  400: 'EINVAL',
  401: 'EACCES',
  403: 'EACCES',
  404: 'ENOENT',
  408: 'ETIMEDOUT',
  409: 'EIO',
  411: 'EINVAL',
  412: 'EIO',
  413: 'EFBIG',
  416: 'EINVAL',
  429: 'EAGAIN',
  501: 'ENOSYS',
  503: 'EAGAIN',
};

/** JSON API error reasons that are more precise than the status. */
const REASON_CODES: Record<string, FsErrorCode> = {
  notFound: 'ENOENT',
  forbidden: 'EACCES',
  accessDenied: 'EACCES',
  rateLimitExceeded: 'EAGAIN',
  userRateLimitExceeded: 'EAGAIN',
  backendError: 'EIO',
};

/**
 * Maps anything the @google-cloud/storage SDK throws (ApiError with a numeric
 * `code`, GaxiosError with `status`, "Upload failed" errors with the status in
 * `code`, node-fetch/gaxios network errors) to an FsError naming `key` and
 * `op`. An FsError passes through unchanged.
 */
export function mapGcsError(err: unknown, key: string, op: string): FsError {
  if (err instanceof FsError) return err;
  const details = { path: key, op, cause: err };
  const status = httpStatus(err);
  const reason = firstReason(err);
  const byReason = reason !== undefined ? REASON_CODES[reason] : undefined;
  const code = byReason ?? (status !== undefined ? (STATUS_CODES[status] ?? (status >= 500 ? 'EIO' : undefined)) : undefined);
  if (code !== undefined) {
    const what = status !== undefined ? `HTTP ${status}${reason ? ` ${reason}` : ''}` : reason;
    return new FsError(code, `gcs ${op} '${key}': ${what}: ${messageOf(err)}`, details);
  }
  if (isRequestTimeout(err)) {
    return new FsError('ETIMEDOUT', `gcs ${op} '${key}': the request timed out: ${messageOf(err)}`, details);
  }
  return fromSystemError(err, details);
}

/** The HTTP status an SDK error carries, if any. */
export function httpStatus(err: unknown): number | undefined {
  if (!err || typeof err !== 'object') return undefined;
  const e = err as { code?: unknown; status?: unknown; response?: { status?: unknown; statusCode?: unknown } };
  for (const candidate of [e.code, e.status, e.response?.status, e.response?.statusCode]) {
    const n = typeof candidate === 'number' ? candidate : typeof candidate === 'string' && /^\d{3}$/.test(candidate) ? Number(candidate) : NaN;
    if (n >= 100 && n <= 599) return n;
  }
  return undefined;
}

function firstReason(err: unknown): string | undefined {
  const errors = (err as { errors?: unknown } | null)?.errors;
  if (!Array.isArray(errors)) return undefined;
  const reason = (errors[0] as { reason?: unknown } | undefined)?.reason;
  return typeof reason === 'string' ? reason : undefined;
}

/** node-fetch (teeny-request) reports its `timeout` as a FetchError of type 'request-timeout', without a code. */
function isRequestTimeout(err: unknown): boolean {
  const e = err as { type?: unknown; name?: unknown; message?: unknown } | null;
  return !!e && (e.type === 'request-timeout' || (e.name === 'TimeoutError' && typeof e.message === 'string'));
}

function messageOf(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.length > 300 ? `${text.slice(0, 300)}...` : text;
}
