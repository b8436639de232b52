import { pipeline, type Readable } from 'node:stream';
import { FsError, fromSystemError } from '../../../core/errors.js';
import { normalizeKey } from '../../../core/paths.js';
import { emptyReadable, sha256OfStream, toReadable } from '../../../drivers/shared/body.js';
import type { Checksum, FileStat, ListOptions, ListPage, ReadOptions, StorageDriver, TemporaryUrlOptions, WriteOptions, WriteResult } from '../../../drivers/types.js';
import { ForwardingDriver } from '../forwarding-driver.js';
import { ciphertextSize, DEFAULT_CHUNK_SIZE, HEADER_BYTES, MAX_CHUNK_SIZE, MIN_CHUNK_SIZE, plaintextSize } from './format.js';
import { KeyRing } from './keys.js';
import { OpenStream, openHeader, type OpenedHeader, type OpenStreamOptions } from './open-stream.js';
import { normalizeRange, planChunks } from './read-plan.js';
import { SealStream } from './seal-stream.js';

/** Options of the encrypted decorator. */
export interface EncryptedOptions {
  /** Master keys by key id: each exactly 32 bytes (AES-256). Old ids stay here after a rotation. */
  keys: Record<string, Uint8Array>;
  /** The key id new objects are sealed with; must be in `keys`. */
  keyId: string;
  /**
   * Plaintext bytes per sealed chunk (1 KiB..16 MiB, default 64 KiB): the
   * unit of ranged reads. Keep it fixed for a disk's lifetime: stat and list
   * compute plaintext sizes with it (see format.ts).
   */
  chunkSize?: number;
}

/**
 * Wraps `inner` so every file is stored encrypted and authenticated
 * (AES-256-GCM in independently sealed chunks, format.ts): writes and reads
 * stream, ranged reads fetch only the covering chunks, stat and list report
 * plaintext sizes. A damaged, reordered or truncated object fails with
 * EBADMSG; an object whose key is missing or different fails with EACCES
 * naming the key id. URLs would serve ciphertext, so url/temporaryUrl/
 * temporaryUploadUrl are ENOTSUP. Throws EINVAL for bad options. Owns `inner`.
 */
export function createEncryptedDriver(inner: StorageDriver, options: EncryptedOptions): StorageDriver {
  return new EncryptedDriver(inner, options);
}

/**
 * See createEncryptedDriver. delete, createDirectory, deleteDirectory, copy,
 * move and the visibility calls pass through: copy and move carry the
 * ciphertext as it is (its header names its key, and no (key, nonce) pair is
 * used anew).
 */
class EncryptedDriver extends ForwardingDriver {
  private readonly keys: KeyRing;
  private readonly chunkSize: number;

  constructor(inner: StorageDriver, options: EncryptedOptions) {
    if (options === null || typeof options !== 'object') throw new FsError('EINVAL', 'encrypted disk: options are required', { op: 'config' });
    const chunkSize = options.chunkSize ?? DEFAULT_CHUNK_SIZE;
    if (!Number.isInteger(chunkSize) || chunkSize < MIN_CHUNK_SIZE || chunkSize > MAX_CHUNK_SIZE) {
      throw new FsError('EINVAL', `encrypted disk: chunkSize ${String(chunkSize)} must be an integer from ${MIN_CHUNK_SIZE} to ${MAX_CHUNK_SIZE} bytes`, {
        op: 'config',
      });
    }
    const keys = new KeyRing(options.keys, options.keyId);
    super(inner, `encrypted(${inner.name})`, {
      ...inner.capabilities,
      publicUrl: false,
      temporaryUrl: false,
      temporaryUrlExpiryEnforced: false,
      temporaryUrlSignatureEnforced: false,
      temporaryUploadUrl: false,
      nativeChecksum: null,
    });
    this.keys = keys;
    this.chunkSize = chunkSize;
  }

  override async stat(path: string): Promise<FileStat> {
    return this.plaintextStat(await this.inner.stat(path));
  }

  override async list(dir: string, options: ListOptions): Promise<ListPage> {
    const page = await this.inner.list(dir, options);
    return { ...page, entries: page.entries.map((entry) => this.plaintextStat(entry)) };
  }

  override async read(path: string, options: ReadOptions = {}): Promise<Readable> {
    const key = normalizeKey(path, this.capabilities.limits);
    const { signal } = options;
    const { offset, length } = normalizeRange(options.range ?? { offset: 0 });
    if (length === 0) {
      await this.readHeader(key, signal); // the file must exist and open, even for zero bytes
      return emptyReadable();
    }
    if (offset < this.chunkSize) {
      // The range starts in chunk 0: one request for header and chunks, planned with the disk's chunk size.
      const plan = planChunks(offset, length, this.chunkSize, true);
      const whole = plan.requestedBytes === undefined;
      const stream = await this.inner.read(key, { range: whole ? undefined : plan.innerRange, signal });
      const opener = await this.decrypt(stream, { path: key, keys: this.keys, ...plan });
      if (whole || opener.opened.header.chunkSize === this.chunkSize) return opener.stream;
      opener.stream.destroy(); // bounded, and written with another chunk size: plan again with the header's
      return this.readChunks(key, offset, length, opener.opened, signal);
    }
    return this.readChunks(key, offset, length, await this.readHeader(key, signal), signal);
  }

  override async write(path: string, body: Readable | Uint8Array, options: WriteOptions = {}): Promise<WriteResult> {
    let sealer: SealStream;
    try {
      const key = normalizeKey(path, this.capabilities.limits);
      sealer = new SealStream(this.keys.sealing, this.chunkSize, key);
    } catch (err) {
      if (!(body instanceof Uint8Array)) body.destroy(); // refused before reading: release the caller's stream
      throw err;
    }
    const source = toReadable(body);
    pipeline(source, sealer, () => {}); // a body error destroys the sealer, failing the inner write
    const size = options.size === undefined ? undefined : ciphertextSize(options.size, this.chunkSize);
    try {
      const result = await this.inner.write(path, sealer, { ...options, size });
      return result.etag === undefined ? { size: sealer.plaintextBytes } : { size: sealer.plaintextBytes, etag: result.etag };
    } catch (err) {
      sealer.destroy();
      throw fromSystemError(err, { path, op: 'write' });
    }
  }

  /** sha256 of the plaintext, read and decrypted (the stored bytes' checksums say nothing of it). */
  override async checksum(path: string): Promise<Checksum> {
    const stream = await this.read(path);
    try {
      return await sha256OfStream(stream);
    } catch (err) {
      stream.destroy();
      throw fromSystemError(err, { path, op: 'checksum' });
    }
  }

  override url(path: string): string {
    throw this.noUrls(normalizeKey(path, this.capabilities.limits), 'url');
  }

  override async temporaryUrl(path: string, _options: TemporaryUrlOptions): Promise<string> {
    throw this.noUrls(normalizeKey(path, this.capabilities.limits), 'temporaryUrl');
  }

  override async temporaryUploadUrl(path: string, _options: TemporaryUrlOptions): Promise<string> {
    throw this.noUrls(normalizeKey(path, this.capabilities.limits), 'temporaryUploadUrl');
  }

  /** Reads whole chunks from `offset` on, the header already opened. */
  private async readChunks(key: string, offset: number, length: number | undefined, opened: OpenedHeader, signal?: AbortSignal): Promise<Readable> {
    const plan = planChunks(offset, length, opened.header.chunkSize, false);
    const stream = await this.inner.read(key, { range: plan.innerRange, signal });
    return (await this.decrypt(stream, { path: key, keys: this.keys, opened, ...plan })).stream;
  }

  /** The object's header, read on its own (a small ranged read) and opened. */
  private async readHeader(key: string, signal?: AbortSignal): Promise<OpenedHeader> {
    const stream = await this.inner.read(key, { range: { offset: 0, length: HEADER_BYTES }, signal });
    const parts: Buffer[] = [];
    try {
      for await (const part of stream) parts.push(part as Buffer);
    } catch (err) {
      throw fromSystemError(err, { path: key, op: 'read' });
    }
    return openHeader(Buffer.concat(parts), key, this.keys);
  }

  /** Pipes stored bytes through an OpenStream; resolves once its header is verified. */
  private async decrypt(stream: Readable, options: OpenStreamOptions): Promise<{ stream: Readable; opened: OpenedHeader }> {
    const opener = new OpenStream(options);
    pipeline(stream, opener, () => {}); // errors reach the reader through the opener
    try {
      return { stream: opener, opened: await opener.ready };
    } catch (err) {
      opener.destroy();
      throw fromSystemError(err, { path: options.path, op: 'read' });
    }
  }

  private plaintextStat(stat: FileStat): FileStat {
    return stat.type === 'file' ? { ...stat, size: plaintextSize(stat.size, this.chunkSize) } : stat;
  }

  private noUrls(key: string, op: string): FsError {
    return new FsError('ENOTSUP', `${op} '${key}': an encrypted disk has no URLs (they would serve ciphertext)`, { path: key, op });
  }
}
