import { Transform, type TransformCallback } from 'node:stream';
import { fromSystemError } from '../../../core/errors.js';
import { ByteQueue } from './byte-queue.js';
import { sealChunk, type ChunkContext } from './chunk-cipher.js';
import { encodeHeader, TRAILER } from './format.js';
import { deriveDataKey, newSalt, type MasterKey } from './keys.js';

/**
 * Encrypts a plaintext byte stream into the stored format (format.ts):
 * header, then each chunk sealed as soon as it is known not to be the last
 * (so at most one chunk plus one input piece is buffered), then the last
 * chunk and the trailer when the input ends. Every instance draws a fresh
 * salt, hence a fresh data key. `plaintextBytes` counts the input.
 */
export class SealStream extends Transform {
  private readonly context: ChunkContext;
  private readonly header: Buffer;
  private readonly pending = new ByteQueue();
  private headerSent = false;
  private nextIndex = 0;
  private received = 0;

  constructor(
    master: MasterKey,
    private readonly chunkSize: number,
    private readonly path: string,
  ) {
    super();
    const salt = newSalt();
    const header = encodeHeader({ keyId: master.id, chunkSize, salt, keyCheck: master.check });
    this.header = header.bytes;
    this.context = { dataKey: deriveDataKey(master, salt), digest: header.digest };
  }

  /** Plaintext bytes taken in so far. */
  get plaintextBytes(): number {
    return this.received;
  }

  override _transform(chunk: Buffer | string, encoding: BufferEncoding, callback: TransformCallback): void {
    try {
      const bytes = typeof chunk === 'string' ? Buffer.from(chunk, encoding) : chunk;
      this.received += bytes.length;
      this.pending.push(bytes);
      this.sendHeader();
      // A full chunk is sealed as non-final only once a byte after it exists.
      while (this.pending.length > this.chunkSize) this.seal(this.pending.takeParts(this.chunkSize), false);
      callback();
    } catch (err) {
      callback(fromSystemError(err, { path: this.path, op: 'encrypt' }));
    }
  }

  override _flush(callback: TransformCallback): void {
    try {
      this.sendHeader();
      this.seal(this.pending.takeParts(this.pending.length), true);
      this.push(TRAILER);
      callback();
    } catch (err) {
      callback(fromSystemError(err, { path: this.path, op: 'encrypt' }));
    }
  }

  private sendHeader(): void {
    if (this.headerSent) return;
    this.headerSent = true;
    this.push(this.header);
  }

  private seal(plaintext: Buffer[], final: boolean): void {
    for (const part of sealChunk(this.context, this.nextIndex, final, plaintext)) this.push(part);
    this.nextIndex++;
  }
}
