import { chmod, mkdir, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { dirname } from 'node:path';
import Fastify, { type FastifyError } from 'fastify';
import { FsError, fromSystemError, type FsErrorCode } from '../core/errors.js';
import { normalizeDirectory } from '../core/paths.js';
import type { DiskControl } from '../daemon/status.js';

/**
 * The control socket of a running mount: a small HTTP API on a unix socket
 * (never TCP), readable by the mount's user only, that `storaged status` and
 * `storaged refresh` talk to.
 *
 *   GET  /status   → 200, the DiskStatus as JSON
 *   POST /refresh  {"path": "dir/sub"} ('' for the root) → 204 once the
 *                  listing is done
 *   POST /sync     → 204 once every pending backend operation is done
 *
 * Every failure answers `{code, message}` with code an FsError code and an
 * HTTP status that fits it (400 EINVAL, 404 ENOENT, 500 EIO...).
 */

/** The log calls the control server makes (a pino Logger fits). */
export interface ControlLogger {
  debug(details: object, message: string): void;
  warn(details: object, message: string): void;
}

/** A listening control server. */
export interface ControlServer {
  /** Stops accepting, cuts the connections of requests still running (their clients see a reset), removes the socket file. */
  close(): Promise<void>;
}

/** The body a failed control request answers with. */
export interface ControlErrorBody {
  code: FsErrorCode;
  message: string;
}

/** Longest wait, when starting, for an existing socket file to answer (to tell a live server from a stale file). */
const PROBE_TIMEOUT_MS = 1000;

/** HTTP status for an FsError code; anything unlisted is 500. */
const HTTP_STATUS: Partial<Record<FsErrorCode, number>> = {
  EINVAL: 400,
  ENAMETOOLONG: 400,
  ENOTDIR: 400,
  EACCES: 403,
  EPERM: 403,
  ENOENT: 404,
  EBUSY: 409,
  ECANCELED: 409,
  ENOSYS: 501,
  ENOTSUP: 501,
  ECONNREFUSED: 502,
  EHOSTUNREACH: 502,
  EAGAIN: 503,
  ETIMEDOUT: 504,
};

/**
 * Serves `control` on the unix socket `socketPath` (see controlSocketPath).
 * A socket file left by a dead process is removed first; one a live server
 * still answers on gives FsError EBUSY. The socket is chmod 0600 right after
 * binding (with the usual umask 022 nobody else could connect before that
 * either). Request logging stays off; failed refreshes are logged at debug,
 * unexpected failures at warn.
 */
export async function startControlServer(control: DiskControl, socketPath: string, logger: ControlLogger): Promise<ControlServer> {
  await mkdir(dirname(socketPath), { recursive: true });
  await removeStaleSocket(socketPath);
  // close() cuts requests still running (a long refresh) rather than holding up the mount's shutdown.
  const app = Fastify({ logger: false, forceCloseConnections: true });

  app.get('/status', async () => control.status());

  app.post<{ Body: { path: string } }>(
    '/refresh',
    {
      schema: {
        body: {
          type: 'object',
          required: ['path'],
          properties: { path: { type: 'string' } },
        },
      },
    },
    async (request, reply) => {
      const path = normalizeDirectory(request.body.path);
      await control.refresh(path);
      await reply.code(204).send();
    },
  );

  app.post('/sync', async (_request, reply) => {
    await control.sync();
    await reply.code(204).send();
  });

  app.setNotFoundHandler(async (request, reply) => {
    const body: ControlErrorBody = { code: 'ENOSYS', message: `the control socket has no ${request.method} ${request.url}` };
    await reply.code(404).send(body);
  });

  app.setErrorHandler(async (error: FastifyError, request, reply) => {
    const { status, body } = errorReply(error);
    if (status >= 500 && !(error instanceof FsError)) logger.warn({ err: error, url: request.url }, 'control request failed');
    else logger.debug({ err: error, url: request.url }, 'control request failed');
    await reply.code(status).send(body);
  });

  try {
    await app.listen({ path: socketPath });
    await chmod(socketPath, 0o600);
  } catch (err) {
    await app.close().catch(() => undefined);
    throw fromSystemError(err, { op: 'control socket', path: socketPath });
  }

  return {
    async close() {
      await app.close();
      // libuv unlinks the socket of a closed server already; this covers a chmod failure path or an older runtime.
      await rm(socketPath, { force: true });
    },
  };
}

/** The HTTP status and `{code, message}` body for an error thrown while serving a request. */
function errorReply(error: FastifyError): { status: number; body: ControlErrorBody } {
  if (error instanceof FsError) {
    return { status: HTTP_STATUS[error.code] ?? 500, body: { code: error.code, message: error.message } };
  }
  // Fastify's own errors (bad JSON, schema validation, wrong content type) are the client's fault.
  if (error.validation !== undefined || (typeof error.statusCode === 'number' && error.statusCode < 500)) {
    return { status: 400, body: { code: 'EINVAL', message: `bad control request: ${error.message}` } };
  }
  const mapped = fromSystemError(error);
  return { status: HTTP_STATUS[mapped.code] ?? 500, body: { code: mapped.code, message: mapped.message } };
}

/**
 * Removes a socket file nobody serves any more. If a server still answers
 * on it (another process serving the same mountpoint), fails with EBUSY
 * rather than stealing its socket.
 */
async function removeStaleSocket(socketPath: string): Promise<void> {
  const answered = await new Promise<boolean>((resolve) => {
    const socket = connect({ path: socketPath });
    const timer = setTimeout(() => finish(false), PROBE_TIMEOUT_MS);
    const finish = (live: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(live);
    };
    socket.once('connect', () => finish(true));
    socket.once('error', () => finish(false));
  });
  if (answered) {
    throw new FsError('EBUSY', `another process is serving the control socket '${socketPath}' (is the mountpoint mounted twice?)`, {
      path: socketPath,
      op: 'control socket',
    });
  }
  await rm(socketPath, { force: true }).catch((err: unknown) => {
    throw fromSystemError(err, { op: 'control socket', path: socketPath });
  });
}
