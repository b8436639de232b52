import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { FsError, fromSystemError } from '../../core/errors.js';
import { toReadable } from '../shared/body.js';

/** A failure to inject into a stream after some bytes. */
export interface StreamFailure {
  afterBytes: number;
  error: FsError;
}

/** The bytes of a completed write, ready to commit. */
export interface ConsumedBody {
  chunks: Buffer[];
  size: number;
  sha256: string;
}

/**
 * Reads `body` chunk by chunk (copying each chunk, since producers may reuse
 * theirs), hashing as it goes. Rejects with an FsError when the body errors,
 * the signal aborts, or `failure` is given (once the body would pass
 * `failure.afterBytes`, or at its end if shorter); the caller then commits nothing.
 */
export async function consumeBody(
  body: Readable | Uint8Array,
  key: string,
  options: { signal?: AbortSignal; failure?: StreamFailure },
): Promise<ConsumedBody> {
  const stream = toReadable(body);
  const hash = createHash('sha256');
  const chunks: Buffer[] = [];
  let size = 0;
  const stopOnAbort = cancelOnAbort(stream, options.signal, key, 'write');
  try {
    throwIfAborted(options.signal, key, 'write');
    for await (const chunk of stream) {
      const buffer = toBuffer(chunk, key);
      const failure = options.failure;
      if (failure && size + buffer.length > failure.afterBytes) throw failure.error;
      chunks.push(buffer);
      hash.update(buffer);
      size += buffer.length;
      throwIfAborted(options.signal, key, 'write');
    }
    if (options.failure) throw options.failure.error;
  } catch (err) {
    stream.destroy();
    throw fromSystemError(err, { path: key, op: 'write' });
  } finally {
    stopOnAbort();
  }
  return { chunks, size, sha256: hash.digest('hex') };
}

/**
 * A byte stream (not object mode) over `chunks`, restricted to
 * [offset, offset + length). Yields lazily, so backpressure holds; errors
 * with ECANCELED when the signal aborts, and with `failure.error` after at
 * most `failure.afterBytes` bytes (always, when a failure is given).
 */
export function chunkStream(
  chunks: readonly Buffer[],
  range: { offset: number; length: number },
  key: string,
  options: { signal?: AbortSignal; failure?: StreamFailure },
): Readable {
  async function* generate(): AsyncGenerator<Buffer> {
    let skip = range.offset;
    let left = range.length;
    let sent = 0;
    const failure = options.failure;
    for (const chunk of chunks) {
      if (left <= 0) break;
      if (skip >= chunk.length) {
        skip -= chunk.length;
        continue;
      }
      let piece = chunk.subarray(skip, skip + Math.min(left, chunk.length - skip));
      skip = 0;
      if (failure && sent + piece.length > failure.afterBytes) {
        piece = piece.subarray(0, failure.afterBytes - sent);
        if (piece.length > 0) yield piece;
        throw failure.error;
      }
      throwIfAborted(options.signal, key, 'read');
      left -= piece.length;
      sent += piece.length;
      yield piece;
    }
    if (failure) throw failure.error;
  }
  const stream = Readable.from(generate(), { objectMode: false });
  const stopOnAbort = cancelOnAbort(stream, options.signal, key, 'read');
  stream.once('close', stopOnAbort);
  return stream;
}

/** Destroys `stream` with ECANCELED when `signal` aborts; returns the function that stops listening. */
function cancelOnAbort(stream: Readable, signal: AbortSignal | undefined, key: string, op: string): () => void {
  if (!signal) return () => {};
  const onAbort = () => stream.destroy(new FsError('ECANCELED', `${op} '${key}': aborted by the caller`, { path: key, op }));
  signal.addEventListener('abort', onAbort, { once: true });
  return () => signal.removeEventListener('abort', onAbort);
}

function toBuffer(chunk: unknown, key: string): Buffer {
  if (typeof chunk === 'string') return Buffer.from(chunk, 'utf8');
  if (chunk instanceof Uint8Array) return Buffer.from(chunk);
  throw new FsError('EINVAL', `write '${key}': the body yielded a ${typeof chunk}, not bytes`, { path: key, op: 'write' });
}

function throwIfAborted(signal: AbortSignal | undefined, key: string, op: string): void {
  if (signal?.aborted) throw new FsError('ECANCELED', `${op} '${key}': aborted by the caller`, { path: key, op });
}
