import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import mime from 'mime-types';
import type { ByteRange, Checksum } from '../types.js';

/** A write body as a Readable (a Uint8Array becomes a one-chunk stream). */
export function toReadable(body: Readable | Uint8Array): Readable {
  return body instanceof Uint8Array ? Readable.from([Buffer.from(body.buffer, body.byteOffset, body.byteLength)]) : body;
}

/** Content-Type guessed from the key's extension (application/octet-stream when unknown). */
export function guessMimeType(key: string): string {
  return mime.lookup(key) || 'application/octet-stream';
}

/**
 * Clamps a range to a file of `size` bytes. Returns the first byte and the
 * byte count (0 when the range starts at or past the end).
 */
export function clampRange(range: ByteRange | undefined, size: number): { offset: number; length: number } {
  const offset = Math.min(Math.max(0, range?.offset ?? 0), size);
  const wanted = range?.length ?? size - offset;
  return { offset, length: Math.max(0, Math.min(wanted, size - offset)) };
}

/** An empty stream, for ranges that start past the end. */
export function emptyReadable(): Readable {
  return Readable.from([]);
}

/** sha256 of a stream's bytes, consuming it. */
export async function sha256OfStream(stream: Readable): Promise<Checksum> {
  const hash = createHash('sha256');
  for await (const chunk of stream) hash.update(chunk as Buffer);
  return { algorithm: 'sha256', hex: hash.digest('hex') };
}
