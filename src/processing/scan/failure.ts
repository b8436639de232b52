import { FsError, fromSystemError, type FsErrorCode } from '../../core/errors.js';
import type { ClamdSocket } from './types.js';

/** `127.0.0.1:3310` or the unix socket path, for messages. */
export function describeSocket(socket: ClamdSocket): string {
  return 'path' in socket ? socket.path : `${socket.host}:${socket.port}`;
}

/**
 * The FsError of a failed scan: `code`, and a message starting with
 * "virus scan failed" that names the file (when known) and clamd's address.
 */
export function scanFailure(
  code: FsErrorCode,
  reason: string,
  where: { socket: ClamdSocket; name?: string | undefined },
  cause?: unknown,
): FsError {
  const file = where.name !== undefined ? ` of '${where.name}'` : '';
  return new FsError(code, `virus scan${file} failed: ${reason} (clamd at ${describeSocket(where.socket)})`, {
    op: 'scan',
    ...(where.name !== undefined ? { path: where.name } : {}),
    ...(cause !== undefined ? { cause } : {}),
  });
}

/**
 * Maps a socket error to a scan failure. A missing unix socket file means
 * clamd is not running, like a refused TCP connection: ECONNREFUSED.
 */
export function socketFailure(err: unknown, where: { socket: ClamdSocket; name?: string | undefined }): FsError {
  const systemCode = (err as { code?: unknown } | null)?.code;
  if (systemCode === 'ENOENT' || systemCode === 'ECONNREFUSED') {
    return scanFailure('ECONNREFUSED', 'clamd refused the connection (is it running?)', where, err);
  }
  const mapped = fromSystemError(err);
  const reason = err instanceof Error ? err.message : String(err);
  return scanFailure(mapped.code, `connection to clamd failed: ${reason}`, where, err);
}
