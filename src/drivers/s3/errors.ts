import { FsError, fromSystemError, type FsErrorCode } from '../../core/errors.js';

/** S3 error codes (the SDK error's `name`) and what they mean to a file system. */
const CODE_BY_NAME: Record<string, FsErrorCode> = {
  NoSuchKey: 'ENOENT',
  NotFound: 'ENOENT',
  NoSuchBucket: 'ENOENT',
  NoSuchUpload: 'ENOENT',
  AccessDenied: 'EACCES',
  Forbidden: 'EACCES',
  AllAccessDisabled: 'EACCES',
  AccountProblem: 'EACCES',
  InvalidAccessKeyId: 'EACCES',
  SignatureDoesNotMatch: 'EACCES',
  ExpiredToken: 'EACCES',
  InvalidToken: 'EACCES',
  TokenRefreshRequired: 'EACCES',
  CredentialsProviderError: 'EACCES',
  // An archived (Glacier / Deep Archive) object must be restored before it can be read.
  InvalidObjectState: 'EACCES',
  // The bucket enforces owner-only ACLs: configure the disk without ACLs.
  AccessControlListNotSupported: 'ENOTSUP',
  NotImplemented: 'ENOTSUP',
  MethodNotAllowed: 'ENOTSUP',
  KeyTooLongError: 'ENAMETOOLONG',
  InvalidObjectName: 'EINVAL',
  InvalidArgument: 'EINVAL',
  InvalidRequest: 'EINVAL',
  InvalidRange: 'EINVAL',
  InvalidBucketName: 'EINVAL',
  MetadataTooLarge: 'EINVAL',
  EntityTooSmall: 'EINVAL',
  InvalidPart: 'EIO',
  InvalidPartOrder: 'EIO',
  BadDigest: 'EBADMSG',
  InvalidDigest: 'EBADMSG',
  IncompleteBody: 'EIO',
  EntityTooLarge: 'EFBIG',
  SlowDown: 'EAGAIN',
  Throttling: 'EAGAIN',
  ThrottlingException: 'EAGAIN',
  TooManyRequests: 'EAGAIN',
  RequestLimitExceeded: 'EAGAIN',
  ServiceUnavailable: 'EAGAIN',
  OperationAborted: 'EAGAIN',
  QuotaExceeded: 'ENOSPC',
  StorageQuotaExceeded: 'ENOSPC',
  RequestTimeout: 'ETIMEDOUT',
  InternalError: 'EIO',
};

/** Codes for HTTP statuses when the error name says nothing more specific. */
function codeByStatus(status: number): FsErrorCode | undefined {
  if (status === 404) return 'ENOENT';
  if (status === 401 || status === 403) return 'EACCES';
  if (status === 413) return 'EFBIG';
  if (status === 429 || status === 503) return 'EAGAIN';
  if (status === 501 || status === 405) return 'ENOTSUP';
  if (status >= 500) return 'EIO';
  return undefined;
}

/** What an SDK (smithy) service error carries. */
interface ServiceErrorShape {
  name?: unknown;
  message?: unknown;
  $metadata?: { httpStatusCode?: number };
}

/** The S3 error code (NoSuchKey, SlowDown...) of an SDK error, if any. */
export function s3ErrorName(err: unknown): string | undefined {
  const name = (err as ServiceErrorShape | null)?.name;
  return typeof name === 'string' ? name : undefined;
}

/** The HTTP status of an SDK error, if the server answered. */
export function s3ErrorStatus(err: unknown): number | undefined {
  return (err as ServiceErrorShape | null)?.$metadata?.httpStatusCode;
}

/** True for "no such object" answers (404 on HEAD has no body, so only the status says so). */
export function isS3NotFound(err: unknown): boolean {
  const name = s3ErrorName(err);
  return name === 'NoSuchKey' || name === 'NotFound' || (s3ErrorStatus(err) === 404 && name !== 'NoSuchBucket');
}

/**
 * Maps an S3 SDK error to an FsError naming `bucket`, `key` and `op`.
 * A missing bucket is ENOENT (the disk root does not exist; HEAD answers a
 * bare 404 for it, so a stat could not tell it apart anyway) with a message
 * that says the bucket is missing. Server errors go by S3 code, then by HTTP
 * status; anything else (sockets, timeouts, aborts) through fromSystemError.
 */
export function mapS3Error(err: unknown, bucket: string, key: string, op: string): FsError {
  if (err instanceof FsError) return err;
  const name = s3ErrorName(err);
  const status = s3ErrorStatus(err);
  const details = { path: key, op, cause: err };
  if (name === 'NoSuchBucket') {
    return new FsError('ENOENT', `${op} '${key}': bucket '${bucket}' does not exist`, details);
  }
  if (name === 'TimeoutError') {
    // The HTTP handler renames ECONNRESET/EPIPE to TimeoutError (to retry them): keep the socket's own code.
    if (typeof (err as { code?: unknown }).code === 'string') return fromSystemError(err, { path: key, op });
    return new FsError('ETIMEDOUT', `${op} '${key}' in bucket '${bucket}': ${String((err as Error).message)}`, details);
  }
  const code = (name !== undefined ? CODE_BY_NAME[name] : undefined) ?? (status !== undefined ? codeByStatus(status) : undefined);
  if (code !== undefined) {
    const reason = err instanceof Error && err.message !== '' && err.message !== 'UnknownError' ? err.message : `HTTP ${status ?? '?'}`;
    return new FsError(code, `${op} '${key}' in bucket '${bucket}': ${name ?? 'error'}: ${reason}`, details);
  }
  return fromSystemError(err, { path: key, op });
}
