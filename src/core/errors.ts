import { constants as osConstants } from 'node:os';

/**
 * The errno-style codes storaged speaks. Every failure that crosses a layer
 * boundary is an FsError carrying one of these; callers branch on `code`,
 * never on message text.
 */
export const FS_ERROR_CODES = [
  'ENOENT', // no such file or directory
  'EEXIST', // already exists
  'ENOTDIR', // a path component is not a directory
  'EISDIR', // a file operation on a directory
  'ENOTEMPTY', // directory not empty
  'EACCES', // permission denied (credentials, ACLs)
  'EPERM', // operation not permitted
  'EROFS', // read-only disk
  'ENOSPC', // no space (cache or backend quota)
  'ENAMETOOLONG', // a name or key longer than the backend allows
  'EINVAL', // invalid argument: bad path, bad option, bad config
  'ENOSYS', // not implemented by this driver
  'ENOTSUP', // a capability the backend does not offer
  'ETIMEDOUT', // the backend did not answer in time
  'ECONNREFUSED', // the backend refused the connection
  'EHOSTUNREACH', // the backend's host cannot be resolved or reached
  'EIO', // any other I/O failure at the backend
  'EBADMSG', // integrity failure: corrupt, tampered or truncated data
  'EAGAIN', // temporarily unavailable (throttled); retrying may succeed
  'EBUSY', // resource busy (a mount in use)
  'ECANCELED', // the operation was aborted by the caller
  'EXDEV', // cross-disk rename
  'EFBIG', // file too large for the backend
  'ENODATA', // no such extended attribute (Linux ENOATTR)
  'ERANGE', // a result does not fit the caller's buffer (xattr sizes)
  'ELOOP', // too many symbolic links
  'EMLINK', // too many hard links
  'ENXIO', // no such device (special files the backend cannot hold)
  'EBADF', // not an open handle, or not open for this kind of access
] as const;

export type FsErrorCode = (typeof FS_ERROR_CODES)[number];

/** Extra context an FsError may carry; all optional. */
export interface FsErrorDetails {
  /** The offending path or key, as the caller gave it. */
  path?: string;
  /** What was being attempted, e.g. "read", "write", "config". */
  op?: string;
  /** The underlying error (SDK error, socket error...). */
  cause?: unknown;
}

/**
 * The one error type of storaged: an errno-style `code`, a human message that
 * names the offending value, and the original `cause`. `errno` is the negative
 * number FUSE expects (e.g. -2 for ENOENT).
 */
export class FsError extends Error {
  readonly code: FsErrorCode;
  readonly path?: string;
  readonly op?: string;

  constructor(code: FsErrorCode, message: string, details: FsErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'FsError';
    this.code = code;
    if (details.path !== undefined) this.path = details.path;
    if (details.op !== undefined) this.op = details.op;
  }

  /** The negative errno for this code, as FUSE replies want it. */
  get errno(): number {
    return -errnoNumber(this.code);
  }
}

/** Positive errno number for a code (EIO when the platform lacks one). */
export function errnoNumber(code: FsErrorCode): number {
  const table = osConstants.errno as Record<string, number>;
  return table[code] ?? table.EIO ?? 5;
}

/** True when `value` is an FsError, optionally with one of the given codes. */
export function isFsError(value: unknown, ...codes: FsErrorCode[]): value is FsError {
  return value instanceof FsError && (codes.length === 0 || codes.includes(value.code));
}

/** Node system-error codes that mean the network path to a backend failed. */
const NETWORK_CODES: Record<string, FsErrorCode> = {
  ECONNREFUSED: 'ECONNREFUSED',
  ECONNRESET: 'EIO',
  EPIPE: 'EIO',
  ETIMEDOUT: 'ETIMEDOUT',
  ESOCKETTIMEDOUT: 'ETIMEDOUT',
  ENOTFOUND: 'EHOSTUNREACH',
  EAI_AGAIN: 'EHOSTUNREACH',
  EHOSTUNREACH: 'EHOSTUNREACH',
  ENETUNREACH: 'EHOSTUNREACH',
  UND_ERR_CONNECT_TIMEOUT: 'ETIMEDOUT',
  UND_ERR_SOCKET: 'EIO',
  ERR_STREAM_PREMATURE_CLOSE: 'EIO',
};

/**
 * Maps a Node/system error (fs, net, undici) to an FsError, keeping it as the
 * cause. An FsError passes through unchanged. Anything unrecognised is EIO.
 * Drivers call this last, after their vendor-specific mapping.
 */
export function fromSystemError(err: unknown, details: FsErrorDetails = {}): FsError {
  if (err instanceof FsError) return err;
  const code = findSystemCode(err);
  const mapped: FsErrorCode | undefined =
    code === undefined
      ? undefined
      : (FS_ERROR_CODES as readonly string[]).includes(code)
        ? (code as FsErrorCode)
        : NETWORK_CODES[code];
  if (isAbort(err)) return new FsError('ECANCELED', describe('operation aborted', details), { ...details, cause: err });
  const finalCode = mapped ?? 'EIO';
  const reason = err instanceof Error ? err.message : String(err);
  return new FsError(finalCode, describe(reason, details), { ...details, cause: err });
}

function describe(reason: string, details: FsErrorDetails): string {
  const where = details.path !== undefined ? ` '${details.path}'` : '';
  const what = details.op !== undefined ? `${details.op}${where}: ` : where ? `${where.trim()}: ` : '';
  return `${what}${reason}`;
}

function findSystemCode(err: unknown): string | undefined {
  let current: unknown = err;
  for (let depth = 0; depth < 4 && current && typeof current === 'object'; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && (code in NETWORK_CODES || (FS_ERROR_CODES as readonly string[]).includes(code))) {
      return code;
    }
    const errors = (current as { errors?: unknown }).errors;
    if (Array.isArray(errors) && errors.length > 0) current = errors[0];
    else current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

function isAbort(err: unknown): boolean {
  return !!err && typeof err === 'object' && (err as { name?: unknown }).name === 'AbortError';
}
