import { request } from 'node:http';
import { FS_ERROR_CODES, FsError, fromSystemError, type FsErrorCode } from '../core/errors.js';
import type { DiskStatus } from '../daemon/status.js';

/**
 * The CLI side of a mount's control socket (see src/http/control-server.ts):
 * plain node:http over the unix socket, one request per call.
 */

/**
 * The code of "nothing serves this mount": the socket file is missing or
 * nobody accepts on it. ENOTCONN would say it best, but FsError does not
 * know that code yet; ECONNREFUSED is the closest it has.
 */
export const NOT_SERVING: FsErrorCode = 'ECONNREFUSED';

/** Options of one control request. */
export interface ControlRequestOptions {
  /** The mountpoint, to name in error messages (else the socket path is named). */
  mountpoint?: string;
  /** Longest wait for the answer; 0 waits as long as it takes. */
  timeoutMs?: number;
}

/** Default wait for a status answer: a live daemon answers in milliseconds. */
const STATUS_TIMEOUT_MS = 10_000;

/**
 * The DiskStatus of the mount serving `socketPath`. Rejects with FsError
 * NOT_SERVING when no process serves the socket, ETIMEDOUT when it does not
 * answer in time, and the daemon's own code for an error it answers.
 */
export async function getStatus(socketPath: string, options: ControlRequestOptions = {}): Promise<DiskStatus> {
  const { status, body } = await call(socketPath, 'GET', '/status', undefined, { timeoutMs: STATUS_TIMEOUT_MS, ...options });
  if (status !== 200) throw answeredError(status, body, options.mountpoint ?? socketPath);
  try {
    return JSON.parse(body) as DiskStatus;
  } catch (err) {
    throw new FsError('EBADMSG', `the status answer of ${options.mountpoint ?? socketPath} is not JSON: ${body.slice(0, 80)}`, {
      cause: err,
      op: 'status',
    });
  }
}

/**
 * Asks the mount serving `socketPath` to list `path` (relative to the mount
 * root, '' for all of it) from the backend again; resolves when it has.
 * Errors as getStatus; no timeout unless one is given.
 */
export async function requestRefresh(socketPath: string, path: string, options: ControlRequestOptions = {}): Promise<void> {
  const { status, body } = await call(socketPath, 'POST', '/refresh', JSON.stringify({ path }), options);
  if (status !== 204 && status !== 200) throw answeredError(status, body, options.mountpoint ?? socketPath);
}

/**
 * Asks the mount serving `socketPath` to send everything pending to the
 * backend now; resolves when the backend has it all. Errors as getStatus;
 * no timeout unless one is given.
 */
export async function requestSync(socketPath: string, options: ControlRequestOptions = {}): Promise<void> {
  const { status, body } = await call(socketPath, 'POST', '/sync', undefined, options);
  if (status !== 204 && status !== 200) throw answeredError(status, body, options.mountpoint ?? socketPath);
}

/** One HTTP request on the unix socket; resolves to the status and the whole (small) body. */
function call(
  socketPath: string,
  method: string,
  url: string,
  payload: string | undefined,
  options: ControlRequestOptions,
): Promise<{ status: number; body: string }> {
  const who = options.mountpoint ?? socketPath;
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = payload === undefined ? {} : { 'content-type': 'application/json' };
    const req = request({ socketPath, method, path: url, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', (err) => reject(connectionError(err, who, socketPath)));
    });
    if (options.timeoutMs !== undefined && options.timeoutMs > 0) {
      const timeoutMs = options.timeoutMs;
      req.setTimeout(timeoutMs, () => {
        req.destroy(new FsError('ETIMEDOUT', `the storaged mount serving ${who} did not answer within ${timeoutMs / 1000} s`, { op: 'control' }));
      });
    }
    req.on('error', (err) => reject(connectionError(err, who, socketPath)));
    req.end(payload);
  });
}

/** Maps a socket failure: a missing or refusing socket means no mount serves `who`. */
function connectionError(err: unknown, who: string, socketPath: string): FsError {
  if (err instanceof FsError) return err;
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT' || code === 'ECONNREFUSED' || code === 'ENOTSOCK') {
    return new FsError(NOT_SERVING, `no storaged mount is serving ${who}`, { path: socketPath, op: 'control', cause: err });
  }
  return fromSystemError(err, { op: 'control', path: socketPath });
}

/** The FsError a daemon answered with (`{code, message}`), or EIO naming the HTTP status. */
function answeredError(status: number, body: string, who: string): FsError {
  try {
    const parsed = JSON.parse(body) as { code?: unknown; message?: unknown };
    if (typeof parsed.code === 'string' && (FS_ERROR_CODES as readonly string[]).includes(parsed.code) && typeof parsed.message === 'string') {
      return new FsError(parsed.code as FsErrorCode, parsed.message, { op: 'control' });
    }
  } catch {
    // not JSON: described below
  }
  return new FsError('EIO', `the storaged mount serving ${who} answered HTTP ${status}: ${body.slice(0, 200)}`, { op: 'control' });
}
