import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { isFsError } from '../core/errors.js';
import type { Checksum } from '../drivers/types.js';

/** Reads a whole stream into one Buffer. */
export async function readToBuffer(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
  return Buffer.concat(chunks);
}

/** Runs `action`; when `nullWhenMissing` and it fails with ENOENT, answers null instead. */
export async function orNullIfMissing<T>(nullWhenMissing: boolean, action: () => Promise<T>): Promise<T | null> {
  try {
    return await action();
  } catch (err) {
    if (nullWhenMissing && isFsError(err, 'ENOENT')) return null;
    throw err;
  }
}

/** The digest of a stream's bytes with `algorithm`, consuming it. */
export async function hashStream(stream: Readable, algorithm: Checksum['algorithm']): Promise<Checksum> {
  const hash = createHash(algorithm);
  for await (const chunk of stream) hash.update(chunk as Buffer);
  return { algorithm, hex: hash.digest('hex') };
}
