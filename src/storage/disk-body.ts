import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { FsError } from '../core/errors.js';

/** One piece of a streamed body: bytes, or text written as UTF-8. */
export type BodyChunk = string | Uint8Array;

/**
 * What `put` and `writeStream` accept: text (stored as UTF-8), bytes, a Node
 * stream, a web ReadableStream (fetch's `response.body`), a Blob, or any
 * iterable or async iterable of text/byte chunks (a generator).
 */
export type PutContents =
  | string
  | Uint8Array
  | Readable
  | WebReadableStream<BodyChunk>
  | ReadableStream<BodyChunk>
  | Blob
  | AsyncIterable<BodyChunk>
  | Iterable<BodyChunk>;

/** A driver-ready body and, when known without reading it, its size in bytes. */
export interface DriverBody {
  body: Readable | Uint8Array;
  size?: number;
}

/**
 * Turns `contents` into what StorageDriver.write takes, without reading a
 * stream ahead: text and bytes stay in memory (they already are), everything
 * else becomes a Readable that pulls chunk by chunk. A chunk that is neither
 * text nor bytes fails the stream with EINVAL; any other value is EINVAL here.
 */
export function toDriverBody(contents: PutContents, path: string, op: string): DriverBody {
  if (typeof contents === 'string') {
    const bytes = Buffer.from(contents, 'utf8');
    return { body: bytes, size: bytes.length };
  }
  if (contents instanceof Uint8Array) return { body: contents, size: contents.byteLength };
  if (contents instanceof Readable) return { body: contents };
  if (typeof Blob !== 'undefined' && contents instanceof Blob) {
    return { body: Readable.fromWeb(contents.stream() as WebReadableStream<Uint8Array>), size: contents.size };
  }
  // Node's web streams are async iterables (cancelled when iteration stops early); others go through fromWeb.
  if (isAsyncIterable(contents) || isIterable(contents)) return { body: Readable.from(asBytes(contents, path, op)) };
  if (isWebStream(contents)) {
    const nodeStream = Readable.fromWeb(contents as unknown as WebReadableStream<BodyChunk>, { objectMode: true });
    return { body: Readable.from(asBytes(nodeStream, path, op)) };
  }
  throw new FsError('EINVAL', `${op} '${path}': contents must be a string, bytes, a stream or an (async) iterable, got ${describe(contents)}`, {
    path,
    op,
  });
}

/** Small chunks are gathered into pieces of about this size before they go to the driver (a generator of short lines would otherwise cost a stream round trip per line). */
const COALESCE_BYTES = 64 * 1024;

/** Re-yields the chunks as Buffers (text as UTF-8), small ones gathered up to COALESCE_BYTES. */
async function* asBytes(source: AsyncIterable<unknown> | Iterable<unknown>, path: string, op: string): AsyncGenerator<Buffer> {
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  for await (const chunk of source) {
    let bytes: Buffer;
    if (typeof chunk === 'string') bytes = Buffer.from(chunk, 'utf8');
    // Copied: a producer may reuse its buffer once we asked for the next chunk.
    else if (chunk instanceof Uint8Array) bytes = Buffer.from(chunk);
    else throw new FsError('EINVAL', `${op} '${path}': a body chunk must be a string or bytes, got ${describe(chunk)}`, { path, op });
    pending.push(bytes);
    pendingBytes += bytes.length;
    if (pendingBytes >= COALESCE_BYTES) {
      yield pending.length === 1 ? bytes : Buffer.concat(pending, pendingBytes);
      pending = [];
      pendingBytes = 0;
    }
  }
  if (pendingBytes > 0) yield Buffer.concat(pending, pendingBytes);
}

function isWebStream(value: unknown): boolean {
  return typeof value === 'object' && value !== null && typeof (value as { getReader?: unknown }).getReader === 'function';
}

function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as { [Symbol.asyncIterator]?: unknown })[Symbol.asyncIterator] === 'function';
}

function isIterable(value: unknown): value is Iterable<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as { [Symbol.iterator]?: unknown })[Symbol.iterator] === 'function';
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value !== 'object') return typeof value;
  return (value as object).constructor?.name ?? 'object';
}
