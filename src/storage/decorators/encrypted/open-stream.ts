import { Transform, type TransformCallback } from 'node:stream';
import { FsError, fromSystemError } from '../../../core/errors.js';
import { ByteQueue } from './byte-queue.js';
import { openChunk, type ChunkContext } from './chunk-cipher.js';
import { decodeHeader, HEADER_BYTES, integrityError, sealedChunkBytes, TRAILER, TRAILER_BYTES, type Header } from './format.js';
import { deriveDataKey, type KeyRing } from './keys.js';

/** A verified header with the chunk context it opens. */
export interface OpenedHeader {
  header: Header;
  context: ChunkContext;
}

/**
 * Parses and checks a stored header and finds its key: EBADMSG for a damaged
 * header, EACCES (naming the key id) for a key the ring lacks or that differs.
 */
export function openHeader(bytes: Buffer, path: string, keys: KeyRing): OpenedHeader {
  const header = decodeHeader(bytes, path);
  const master = keys.opening(header, path);
  return { header, context: { dataKey: deriveDataKey(master, header.salt), digest: header.digest } };
}

/** What an OpenStream decrypts. */
export interface OpenStreamOptions {
  /** The object's path, for messages. */
  path: string;
  keys: KeyRing;
  /** The header, when already read; otherwise the input starts with it. */
  opened?: OpenedHeader;
  /** Index of the first chunk in the input. */
  firstIndex: number;
  /** Chunk bytes asked of the inner driver (after any header); undefined: up to the object's end. */
  requestedBytes?: number;
  /** Plaintext bytes to emit: absolute offsets, `end` exclusive (Infinity: to the end). */
  window: { start: number; end: number };
}

/**
 * Decrypts stored bytes (a whole object, or a run of whole chunks from
 * `firstIndex`) into the plaintext inside `window`. Each chunk is fully
 * authenticated, at its index and with its finality, before any of its bytes
 * are pushed: a damaged chunk errors the stream (EBADMSG) having delivered only
 * the authentic chunks before it. An object that ends early errors with a
 * message that says "truncated". `ready` settles once the header is verified.
 */
export class OpenStream extends Transform {
  /** Resolves with the header once verified; rejects with the header's error (or the input's). */
  readonly ready: Promise<OpenedHeader>;
  private readonly queue = new ByteQueue();
  private opened: OpenedHeader | undefined;
  private index: number;
  private chunkBytesIn = 0;
  private settle: { resolve(opened: OpenedHeader): void; reject(err: Error): void } | undefined;

  constructor(private readonly options: OpenStreamOptions) {
    super();
    this.index = options.firstIndex;
    this.opened = options.opened;
    this.ready = new Promise<OpenedHeader>((resolve, reject) => {
      this.settle = { resolve, reject };
    });
    this.ready.catch(() => {}); // the stream's 'error' reports it too
    if (this.opened) this.settleReady();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.step(callback, () => {
      this.queue.push(chunk);
      this.consume(chunk.length);
    });
  }

  override _flush(callback: TransformCallback): void {
    this.step(callback, () => {
      if (!this.opened) {
        this.opened = openHeader(this.queue.take(this.queue.length), this.options.path, this.options.keys); // throws: too short
        this.settleReady();
      }
      this.finish(this.opened, this.queue.take(this.queue.length));
    });
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.settle?.reject(error ?? new FsError('EIO', `read '${this.options.path}': the stream closed before the header was read`, { path: this.options.path }));
    this.settle = undefined;
    callback(error);
  }

  /** Opens the header once it is complete, then every chunk known not to be the last. */
  private consume(received: number): void {
    if (!this.opened) {
      if (this.queue.length < HEADER_BYTES) return;
      this.opened = openHeader(this.queue.take(HEADER_BYTES), this.options.path, this.options.keys);
      this.settleReady();
      this.chunkBytesIn = this.queue.length;
    } else {
      this.chunkBytesIn += received;
    }
    const sealed = sealedChunkBytes(this.opened.header.chunkSize);
    // More than a full chunk plus a trailer buffered: the first chunk cannot be the last one.
    while (this.queue.length > sealed + TRAILER_BYTES) this.emitChunk(this.mustOpen(this.queue.takeParts(sealed), false));
  }

  /** The bytes left at the end of the input: the last chunk (and trailer), or a cut-off tail. */
  private finish(opened: OpenedHeader, rest: Buffer): void {
    const sealed = sealedChunkBytes(opened.header.chunkSize);
    const { requestedBytes, firstIndex, path } = this.options;
    if (requestedBytes !== undefined && this.chunkBytesIn === requestedBytes && rest.length === sealed + TRAILER_BYTES) {
      // The range ended where asked: its last chunk is followed by the next chunk's first bytes, or by the trailer.
      const chunk = [rest.subarray(0, sealed)];
      const plaintext =
        openChunk(opened.context, this.index, false, chunk) ??
        (rest.subarray(sealed).equals(TRAILER) ? openChunk(opened.context, this.index, true, chunk) : null);
      if (plaintext === null) throw this.tampered();
      this.emitChunk(plaintext);
      return;
    }
    const nothingRead = this.index === firstIndex && firstIndex > 0;
    if (nothingRead && rest.length <= TRAILER_BYTES && TRAILER.subarray(TRAILER_BYTES - rest.length).equals(rest)) {
      return; // the range starts past the last chunk: no bytes
    }
    if (rest.length < TRAILER_BYTES || !rest.subarray(rest.length - TRAILER_BYTES).equals(TRAILER)) {
      throw integrityError(path, `is truncated: it ends without its end marker, in or after chunk ${this.index}`);
    }
    const last = rest.subarray(0, rest.length - TRAILER_BYTES);
    const plaintext = openChunk(opened.context, this.index, true, [last]);
    if (plaintext !== null) return this.emitChunk(plaintext);
    if (last.length === sealed && openChunk(opened.context, this.index, false, [last]) !== null) {
      throw integrityError(path, `is truncated: chunk ${this.index} is not its last chunk, the chunks after it are missing`);
    }
    throw this.tampered();
  }

  private mustOpen(sealed: Buffer[], final: boolean): Buffer[] {
    const plaintext = openChunk((this.opened as OpenedHeader).context, this.index, final, sealed);
    if (plaintext === null) throw this.tampered();
    return plaintext;
  }

  /** Pushes the part of chunk `index` inside the window, then moves to the next chunk. */
  private emitChunk(plaintext: Buffer[]): void {
    let at = this.index * (this.opened as OpenedHeader).header.chunkSize; // absolute offset of the next piece
    const { start, end } = this.options.window;
    for (const piece of plaintext) {
      const from = Math.max(0, start - at);
      const to = Math.min(piece.length, end - at);
      if (to > from) this.push(from === 0 && to === piece.length ? piece : piece.subarray(from, to));
      at += piece.length;
    }
    this.index++;
  }

  private tampered(): FsError {
    return integrityError(this.options.path, `failed authentication at chunk ${this.index}: it was tampered with, damaged, reordered or replaced`);
  }

  private settleReady(): void {
    this.settle?.resolve(this.opened as OpenedHeader);
    this.settle = undefined;
  }

  private step(callback: TransformCallback, work: () => void): void {
    try {
      work();
      callback();
    } catch (err) {
      const error = fromSystemError(err, { path: this.options.path, op: 'decrypt' });
      this.settle?.reject(error);
      this.settle = undefined;
      callback(error);
    }
  }
}
