import { Readable } from 'node:stream';
import { FsError, fromSystemError } from '../../../core/errors.js';
import type { ByteRange, StorageDriver } from '../../../drivers/types.js';

/** Chunk size of streams served from cached bytes. */
const SERVE_CHUNK_BYTES = 64 * 1024;

/**
 * Reads the whole of `path` from `inner`, as long as it is at most
 * `maxBytes`: undefined (and the inner stream destroyed) as soon as it turns
 * out bigger, e.g. because it grew since its stat. Rejects with the inner
 * driver's FsError when the read fails, before or during the stream.
 */
export async function readSmallFile(inner: StorageDriver, path: string, maxBytes: number, signal?: AbortSignal): Promise<Buffer | undefined> {
  const stream = await inner.read(path, signal ? { signal } : undefined);
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of stream) {
      const buffer = typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.from(chunk as Uint8Array);
      size += buffer.length;
      if (size > maxBytes) return undefined; // leaving the loop destroys the stream
      chunks.push(buffer);
    }
  } catch (err) {
    throw fromSystemError(err, { path, op: 'read' });
  }
  return Buffer.concat(chunks, size);
}

/**
 * True for a range the cache can serve exactly as every driver would: none,
 * or a whole-number offset >= 0 with no length or a whole-number length >= 0.
 * Anything else goes to the inner driver, which gives its own answer.
 */
export function isServableRange(range: ByteRange | undefined): boolean {
  if (range === undefined) return true;
  if (!Number.isSafeInteger(range.offset) || range.offset < 0) return false;
  return range.length === undefined || (Number.isSafeInteger(range.length) && range.length >= 0);
}

/**
 * A byte stream (not object mode) over `range` of `content`, clamped to its
 * end as drivers do. Errors with ECANCELED when `signal` aborts before the
 * stream has ended.
 */
export function serveBytes(content: Buffer, range: ByteRange | undefined, path: string, signal?: AbortSignal): Readable {
  const start = Math.min(range?.offset ?? 0, content.length);
  const end = range?.length === undefined ? content.length : Math.min(content.length, start + range.length);
  let position = start;
  const stream = new Readable({
    read() {
      if (position >= end) return void this.push(null);
      const next = Math.min(end, position + SERVE_CHUNK_BYTES);
      const piece = content.subarray(position, next);
      position = next;
      this.push(piece);
    },
  });
  if (signal) {
    const onAbort = () => stream.destroy(new FsError('ECANCELED', `read '${path}': operation aborted`, { path, op: 'read' }));
    signal.addEventListener('abort', onAbort, { once: true });
    stream.once('close', () => signal.removeEventListener('abort', onAbort));
  }
  return stream;
}
