import { Readable } from 'node:stream';
import { FsError, fromSystemError, isFsError } from '../../core/errors.js';
import { ClamdConnection, type ClamdPeer } from './connection.js';
import { scanFailure } from './failure.js';
import { sendInstream, type InstreamProgress } from './instream.js';
import { isVerdict, parseScanReply } from './reply.js';
import { exceedsStreamLimit } from './size-probe.js';
import type { ClamdScanner, ClamdScannerOptions, ScanOptions, ScanResult } from './types.js';

const PING_COMMAND = Buffer.from('zPING\0', 'latin1');
const DEFAULT_CHUNK_BYTES = 64 * 1024;

/**
 * A clamd client over TCP or a unix socket (see {@link ClamdScanner}). Each
 * call opens its own connection, so calls may run concurrently. Throws
 * EINVAL at once for invalid options.
 */
export function createClamdScanner(options: ClamdScannerOptions): ClamdScanner {
  validate(options);
  const chunkBytes = options.chunkBytes ?? DEFAULT_CHUNK_BYTES;
  return {
    async ping() {
      const peer: ClamdPeer = { socket: options.socket };
      await withConnection(peer, options.timeoutMs, async (connection) => {
        await connection.write(PING_COMMAND);
        const answer = (await connection.answer()).trim();
        if (answer !== 'PONG') throw scanFailure('EIO', `clamd answered '${answer}' to PING`, peer);
      });
    },

    async scan(source: Readable | Uint8Array, scanOptions: ScanOptions = {}): Promise<ScanResult> {
      const peer: ClamdPeer = { socket: options.socket, name: scanOptions.name };
      const progress: InstreamProgress = { announcedBytes: 0 };
      try {
        return await withConnection(peer, options.timeoutMs, async (connection) => {
          await sendInstream(connection, source, { chunkBytes, maxStreamBytes: options.maxStreamBytes, peer }, progress);
          const parsed = parseScanReply(await connection.answer());
          if (isVerdict(parsed)) return parsed;
          throw scanFailure(parsed.code, parsed.reason, peer);
        });
      } catch (err) {
        if (brokenMidStream(err) && progress.announcedBytes > 0) {
          if (await exceedsStreamLimit(options.socket, progress.announcedBytes, options.timeoutMs)) {
            throw scanFailure('EFBIG', `clamd refused the size (INSTREAM size limit exceeded within ${progress.announcedBytes} bytes)`, peer, err);
          }
        }
        throw err;
      } finally {
        if (source instanceof Readable && !source.readableEnded) source.destroy();
      }
    },
  };
}

/** Runs `work` on a fresh connection, always closing it; any non-FsError becomes a scan failure. */
async function withConnection<T>(peer: ClamdPeer, timeoutMs: number, work: (connection: ClamdConnection) => Promise<T>): Promise<T> {
  let connection: ClamdConnection | undefined;
  try {
    connection = await ClamdConnection.open(peer, timeoutMs);
    return await work(connection);
  } catch (err) {
    if (err instanceof FsError) throw err;
    const reason = err instanceof Error ? err.message : String(err);
    throw scanFailure(fromSystemError(err).code, `reading the file failed: ${reason}`, peer, err);
  } finally {
    connection?.close();
  }
}

/** A connection reset or broken pipe with no answer from clamd: possibly its size limit (see exceedsStreamLimit). */
function brokenMidStream(err: unknown): boolean {
  if (!isFsError(err, 'EIO')) return false;
  const code = (err.cause as { code?: unknown } | undefined)?.code;
  return code === 'EPIPE' || code === 'ECONNRESET';
}

function validate(options: ClamdScannerOptions): void {
  const socket = options.socket as Partial<{ host: unknown; port: unknown; path: unknown }> | undefined;
  const tcp = typeof socket?.host === 'string' && Number.isInteger(socket.port) && (socket.port as number) > 0;
  const unix = typeof socket?.path === 'string' && socket.path.length > 0;
  if (!tcp && !unix) throw invalid('socket', 'needs { host, port } or { path }', JSON.stringify(options.socket));
  if (!(options.timeoutMs > 0)) throw invalid('timeoutMs', 'must be a positive number', String(options.timeoutMs));
  const chunk = options.chunkBytes;
  if (chunk !== undefined && !(Number.isInteger(chunk) && chunk > 0)) throw invalid('chunkBytes', 'must be a positive integer', String(chunk));
  const max = options.maxStreamBytes;
  if (max !== undefined && !(Number.isInteger(max) && max >= 0)) throw invalid('maxStreamBytes', 'must be a non-negative integer', String(max));
}

function invalid(option: string, rule: string, value: string): FsError {
  return new FsError('EINVAL', `clamd scanner option ${option} ${rule}, got ${value}`, { op: 'config' });
}
