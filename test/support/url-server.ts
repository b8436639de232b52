import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pipeline } from 'node:stream/promises';
import { FsError, isFsError } from '../../src/core/errors.js';
import { verifySignedUrl } from '../../src/core/signing.js';
import type { StorageDriver } from '../../src/drivers/types.js';

/** Options of startUrlServer. */
export interface UrlServerOptions {
  /** URL path the files live under, e.g. '/files' (default ''). */
  basePath?: string;
  /** HMAC secret the driver signs temporary URLs with; without it, signed URLs are refused. */
  signingKey?: string;
}

/** A running URL server. */
export interface UrlServer {
  /** What to give the driver as its `url` config: origin + basePath, no trailing slash. */
  readonly baseUrl: string;
  /** Stops the server (open connections are closed). */
  close(): Promise<void>;
}

/**
 * Serves a StorageDriver's files over real HTTP on 127.0.0.1, the way the
 * daemon serves local and ftp disks whose URLs point at our own code:
 *
 * - `GET <basePath>/<encoded key>`: the file, if its visibility is public (or
 *   the driver has no visibility); 403 for a private file; 404 when missing
 *   or a directory.
 * - a URL carrying `signature` is checked with verifySignedUrl (403 when
 *   tampered or expired) and then served whatever the visibility; a signed
 *   `PUT` (method=PUT) stores the request body.
 *
 * The driver is reached through `source` on every request, so a fixture can
 * start the server first (to learn `baseUrl`), then create the driver with
 * `url: server.baseUrl`, and let the getter return it:
 *
 * ```ts
 * let driver: StorageDriver | undefined;
 * const server = await startUrlServer(() => driver, { basePath: '/files', signingKey });
 * driver = createLocalDriver({ driver: 'local', root, url: server.baseUrl }, { diskName: 'local', signingKey });
 * // ... stop(): await server.close()
 * ```
 */
export async function startUrlServer(
  source: StorageDriver | (() => StorageDriver | undefined),
  options: UrlServerOptions = {},
): Promise<UrlServer> {
  const basePath = (options.basePath ?? '').replace(/\/+$/, '');
  const getDriver = typeof source === 'function' ? source : () => source;
  const server = createServer((req, res) => {
    handle(req, res, getDriver(), basePath, options.signingKey).catch((err: unknown) => {
      if (!res.headersSent) reply(res, statusFor(err), String(err));
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}${basePath}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function handle(
  req: IncomingMessage,
  res: ServerResponse,
  driver: StorageDriver | undefined,
  basePath: string,
  signingKey: string | undefined,
): Promise<void> {
  if (!driver) return reply(res, 503, 'no driver attached yet');
  const rawUrl = req.url ?? '/';
  const parsed = new URL(rawUrl, 'http://127.0.0.1');
  if (!parsed.pathname.startsWith(`${basePath}/`)) return reply(res, 404, 'not under the base path');
  const key = decodeKey(parsed.pathname.slice(basePath.length + 1));
  if (key === undefined) return reply(res, 400, 'bad percent-encoding');
  const method = req.method === 'PUT' ? 'PUT' : req.method === 'GET' || req.method === 'HEAD' ? 'GET' : undefined;
  if (method === undefined) return reply(res, 405, 'method not allowed');

  const signed = parsed.searchParams.has('signature');
  if (signed) {
    if (signingKey === undefined) return reply(res, 403, 'signed URLs are not enabled');
    try {
      verifySignedUrl(rawUrl, signingKey, method);
    } catch (err) {
      return reply(res, 403, err instanceof Error ? err.message : 'refused');
    }
  } else if (method === 'PUT') {
    return reply(res, 403, 'uploads need a signed URL');
  }

  if (method === 'PUT') {
    const mimeType = req.headers['content-type'];
    await driver.write(key, req, mimeType ? { mimeType } : {});
    return reply(res, 200, 'stored');
  }

  const stat = await driver.stat(key);
  if (stat.type !== 'file') return reply(res, 404, 'not a file');
  if (!signed && driver.capabilities.visibility && (await driver.getVisibility(key)) !== 'public') {
    return reply(res, 403, 'private file');
  }
  res.writeHead(200, { 'content-type': stat.mimeType ?? 'application/octet-stream', 'content-length': String(stat.size) });
  if (req.method === 'HEAD') return void res.end();
  await pipeline(await driver.read(key), res);
}

/** Decodes a URL path into a key segment by segment; undefined on bad encoding. */
function decodeKey(encoded: string): string | undefined {
  try {
    return encoded.split('/').map(decodeURIComponent).join('/');
  } catch {
    return undefined;
  }
}

function statusFor(err: unknown): number {
  if (isFsError(err, 'ENOENT', 'EISDIR', 'ENOTDIR')) return 404;
  if (isFsError(err, 'EINVAL', 'ENAMETOOLONG')) return 400;
  if (isFsError(err, 'EACCES', 'EPERM')) return 403;
  return err instanceof FsError ? 502 : 500;
}

function reply(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' });
  res.end(text);
}
