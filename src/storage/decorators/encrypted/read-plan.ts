import type { ByteRange } from '../../../drivers/types.js';
import { chunkOffset, HEADER_BYTES, sealedChunkBytes, TRAILER_BYTES } from './format.js';

/** The stored bytes that cover a plaintext range, and which plaintext to emit from them. */
export interface ChunkPlan {
  /** Index of the first chunk read. */
  firstIndex: number;
  /** The inner ranged read: the covering chunks (the header too when `withHeader`). */
  innerRange: ByteRange;
  /** Chunk bytes requested (after the header); undefined when reading to the end. */
  requestedBytes: number | undefined;
  /** Absolute plaintext offsets to emit; `end` exclusive, Infinity for "to the end". */
  window: { start: number; end: number };
}

/** A caller's range, sanitized: offset >= 0, length >= 0 or undefined (to the end). */
export function normalizeRange(range: ByteRange): { offset: number; length: number | undefined } {
  const offset = Math.max(0, Math.floor(Number.isFinite(range.offset) ? range.offset : 0));
  const length = range.length === undefined ? undefined : Math.max(0, Math.floor(range.length));
  return { offset, length };
}

/**
 * Maps plaintext [offset, offset + length) onto whole sealed chunks of
 * `chunkSize`. A bounded range asks for its last chunk plus TRAILER_BYTES
 * more, so the reader can tell a last chunk (followed by the trailer) from a
 * middle one (followed by the next chunk) without knowing the object's size.
 * With `withHeader` the read starts at byte 0 and includes the header (the
 * first chunk must then be chunk 0).
 */
export function planChunks(offset: number, length: number | undefined, chunkSize: number, withHeader: boolean): ChunkPlan {
  const firstIndex = withHeader ? 0 : Math.floor(offset / chunkSize);
  const end = length === undefined ? Infinity : offset + length;
  const sealed = sealedChunkBytes(chunkSize);
  const requestedBytes = end === Infinity ? undefined : (Math.floor((end - 1) / chunkSize) - firstIndex + 1) * sealed + TRAILER_BYTES;
  const start = withHeader ? 0 : chunkOffset(firstIndex, chunkSize);
  const innerLength = requestedBytes === undefined ? undefined : requestedBytes + (withHeader ? HEADER_BYTES : 0);
  return {
    firstIndex,
    innerRange: innerLength === undefined ? { offset: start } : { offset: start, length: innerLength },
    requestedBytes,
    window: { start: offset, end },
  };
}
