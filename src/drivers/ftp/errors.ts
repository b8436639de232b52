import { FsError, fromSystemError, type FsErrorCode } from '../../core/errors.js';

/** An FTP server reply that basic-ftp turned into an error (its `code` is the numeric reply code). */
export interface FtpReplyError {
  code: number;
  message: string;
}

/** True when `err` is a negative FTP reply (4xx/5xx) rather than a socket or timeout failure. */
export function isFtpReply(err: unknown, ...codes: number[]): err is FtpReplyError {
  if (!(err instanceof Error)) return false;
  const code = (err as { code?: unknown }).code;
  if (typeof code !== 'number' || code < 400 || code > 599) return false;
  return codes.length === 0 || codes.includes(code);
}

/** What each FTP reply code means for a caller, before the text is consulted. */
const REPLY_CODES: Record<number, FsErrorCode> = {
  421: 'EIO', // service not available, closing control connection
  425: 'EIO', // can't open data connection
  426: 'EIO', // connection closed; transfer aborted
  450: 'EAGAIN', // file unavailable (busy)
  451: 'EIO', // local error in processing
  452: 'ENOSPC', // insufficient storage space
  500: 'EIO', // syntax error, command unrecognized
  501: 'EINVAL', // syntax error in parameters
  502: 'ENOTSUP', // command not implemented
  504: 'ENOTSUP', // command not implemented for that parameter
  530: 'EACCES', // not logged in
  532: 'EACCES', // need account for storing files
  550: 'ENOENT', // file unavailable (not found, no access)
  552: 'ENOSPC', // exceeded storage allocation
  553: 'EINVAL', // file name not allowed
};

const PERMISSION_TEXT = /permission|denied|not allowed|forbidden/i;

/**
 * Turns anything a basic-ftp call rejected with into an FsError naming `path`
 * and `op`: FTP replies by code (550 → ENOENT, or EACCES when the text speaks
 * of permission; 553 → EINVAL/EACCES; 530 → EACCES; 421/425/426 → EIO),
 * timeouts → ETIMEDOUT, a command basic-ftp refused to send (control
 * characters in a name) → EINVAL, socket errors through fromSystemError
 * (ECONNREFUSED, ECONNRESET → EIO, ...). An FsError passes through unchanged.
 */
export function mapFtpError(err: unknown, path: string, op: string): FsError {
  if (err instanceof FsError) return err;
  const details = { path, op, cause: err };
  if (isFtpReply(err)) {
    let code: FsErrorCode = REPLY_CODES[err.code] ?? 'EIO';
    if ((err.code === 550 || err.code === 553) && PERMISSION_TEXT.test(err.message)) code = 'EACCES';
    return new FsError(code, `${op} '${path}': the FTP server replied ${err.message.trim()}`, details);
  }
  const message = err instanceof Error ? err.message : String(err);
  if (/^Invalid command: Contains control characters/.test(message)) {
    return new FsError('EINVAL', `${op} '${path}': the name contains a line break or control character FTP cannot carry`, details);
  }
  if (isCertificateError(err)) {
    return new FsError('EACCES', `${op} '${path}': the FTP server's TLS certificate was refused (${message})`, details);
  }
  if (/Timeout/.test(message) && !hasSystemCode(err)) {
    return new FsError('ETIMEDOUT', `${op} '${path}': the FTP server did not answer in time (${message})`, details);
  }
  return fromSystemError(err, { path, op });
}

function hasSystemCode(err: unknown): boolean {
  const code = err && typeof err === 'object' ? (err as { code?: unknown }).code : undefined;
  return typeof code === 'string' && code !== '0';
}

/** TLS verification failures (self-signed, unknown CA, wrong host name): the server could not be authenticated. */
function isCertificateError(err: unknown): boolean {
  const code = err && typeof err === 'object' ? (err as { code?: unknown }).code : undefined;
  return typeof code === 'string' && /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER/.test(code);
}
