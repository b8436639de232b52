import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable, Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import mime from 'mime-types';
import { FsError, fromSystemError } from '../../core/errors.js';
import type { SniffResult } from '../../processing/sniff/index.js';
import { UploadRejectedError } from './errors.js';
import { loadSniff } from './processing.js';

/**
 * One uploaded file: its name as the client gave it (only the last path
 * segment counts), its bytes, and optionally the size the client declared
 * (a multipart part's length): more than maxFileSize is refused before a
 * byte is read, and a different number of bytes arriving is refused as a cut
 * upload. Streams are read once, at their pace; a Buffer is already in memory.
 */
export interface UploadFile {
  name: string;
  content: Buffer | Uint8Array | Readable | AsyncIterable<Uint8Array> | { path: string };
  size?: number;
}

/** Progress of staging: bytes received so far, and the declared or known total. */
export interface UploadProgress {
  bytes: number;
  total?: number;
}

/**
 * A file of one upload in its private local work folder: the staged copy of
 * the upload, or a file a processing step derived from it. Steps read `path`
 * (sharp and clamd want a real file) and never change it: a step that makes
 * new bytes writes them to a new file in `workDir` and returns a new
 * StagedUpload (see UploadHandler.derive). The folder is removed when the
 * upload ends, whatever the outcome.
 */
export interface StagedUpload {
  /** The file's name: the client's base name, or the name a conversion gave it (photo.png -> photo.webp). */
  readonly name: string;
  /** The local file holding the bytes. */
  readonly path: string;
  readonly size: number;
  /** Hex sha256 of the bytes. */
  readonly sha256: string;
  /** The type the content shows (file-type); undefined for text and unknown formats. */
  readonly sniffed: SniffResult | undefined;
  /** The sniffed type, else the one the extension suggests; undefined when neither says. */
  readonly mime: string | undefined;
  /** The upload's private local folder, for derived files. */
  readonly workDir: string;
  /** The upload as received, when this file was derived from it; undefined for the received file itself. */
  readonly original: StagedUpload | undefined;
}

/** Options of stageUpload. */
export interface StageOptions {
  workDir: string;
  maxFileSize: number | undefined;
  onProgress?: (progress: UploadProgress) => void;
  signal?: AbortSignal;
}

/**
 * Copies the upload's bytes into `<workDir>/upload`, streamed chunk by chunk
 * (never the whole file in memory), hashing and counting as they pass. Past
 * maxFileSize the copy stops at once and the source is destroyed:
 * UploadRejectedError EFBIG 'max-size' (also when the declared size or a
 * file's stat says so, before reading). Then sniffs the type.
 */
export async function stageUpload(file: UploadFile, options: StageOptions): Promise<StagedUpload> {
  const name = clientName(file.name);
  const max = options.maxFileSize;
  const target = join(options.workDir, 'upload');
  const content = file.content;
  if (!isContent(content)) {
    throw new FsError('EINVAL', `upload '${name}': content must be a Buffer, a stream, an async iterable of bytes or { path }, got ${typeof content}`, { op: 'upload' });
  }
  let known = file.size;
  if (isPathContent(content)) known = await fileSize(content.path);
  else if (content instanceof Uint8Array) known = content.byteLength;
  const total = file.size ?? known;
  if (known !== undefined && max !== undefined && known > max) {
    if (content instanceof Readable) content.destroy();
    throw tooBig(name, known, max, 'declared');
  }
  const meter = new Meter(name, max, total, options.onProgress);
  if (content instanceof Uint8Array) {
    meter.count(content);
    await writeFile(target, content, { flag: 'wx', ...(options.signal ? { signal: options.signal } : {}) }).catch(rethrowAs(target));
  } else {
    const source = isPathContent(content) ? createReadStream(content.path) : content;
    await pipeline(source, meter, createWriteStream(target, { flags: 'wx' }), options.signal ? { signal: options.signal } : {}).catch(rethrowAs(target));
  }
  if (file.size !== undefined && meter.bytes !== file.size) {
    throw new UploadRejectedError('EINVAL', 'size-mismatch', `'${name}' was declared as ${file.size} bytes but ${meter.bytes} arrived`, { name });
  }
  return describeFile(name, target, options.workDir, undefined, { size: meter.bytes, sha256: meter.digest() });
}

/**
 * A StagedUpload for a file a step wrote at `path` (inside `from.workDir`):
 * size, sha256 and type read from it; `name` defaults to from's.
 */
export async function deriveStaged(from: StagedUpload, path: string, name: string = from.name): Promise<StagedUpload> {
  const hash = createHash('sha256');
  let size = 0;
  try {
    for await (const chunk of createReadStream(path)) {
      hash.update(chunk as Buffer);
      size += (chunk as Buffer).length;
    }
  } catch (err) {
    throw fromSystemError(err, { path, op: 'upload' });
  }
  return describeFile(name, path, from.workDir, from.original ?? from, { size, sha256: hash.digest('hex') });
}

/** A fresh path in the upload's work folder: `<workDir>/<label>-<random>`. */
export function workPath(staged: Pick<StagedUpload, 'workDir'>, label: string): string {
  return join(staged.workDir, `${label.replace(/[^\w.-]/g, '_')}-${randomBytes(4).toString('hex')}`);
}

async function describeFile(
  name: string,
  path: string,
  workDir: string,
  original: StagedUpload | undefined,
  bytes: { size: number; sha256: string },
): Promise<StagedUpload> {
  const sniffed = await (await loadSniff()).sniffFile(path);
  const guessed = mime.lookup(name);
  return { name, path, workDir, original, ...bytes, sniffed, mime: sniffed?.mime ?? (guessed === false ? undefined : guessed) };
}

/** Counts, hashes and reports the bytes passing; fails the stream past `max`. */
class Meter extends Transform {
  bytes = 0;
  readonly #hash = createHash('sha256');

  constructor(
    private readonly name: string,
    private readonly max: number | undefined,
    private readonly total: number | undefined,
    private readonly onProgress: ((progress: UploadProgress) => void) | undefined,
  ) {
    super();
  }

  /** Accounts for `chunk`; throws the EFBIG rejection past `max`. */
  count(chunk: Uint8Array): void {
    this.bytes += chunk.length;
    if (this.max !== undefined && this.bytes > this.max) throw tooBig(this.name, this.bytes, this.max, 'received');
    this.#hash.update(chunk);
    this.onProgress?.(this.total === undefined ? { bytes: this.bytes } : { bytes: this.bytes, total: this.total });
  }

  digest(): string {
    return this.#hash.digest('hex');
  }

  override _transform(chunk: unknown, _encoding: BufferEncoding, callback: TransformCallback): void {
    try {
      const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Uint8Array);
      this.count(bytes);
      callback(null, bytes);
    } catch (err) {
      callback(err as Error);
    }
  }
}

function tooBig(name: string, bytes: number, max: number, how: 'declared' | 'received'): UploadRejectedError {
  const said = how === 'declared' ? `is ${bytes} bytes` : `passed ${max} bytes (${bytes} received so far)`;
  return new UploadRejectedError('EFBIG', 'max-size', `'${name}' ${said}, over the ${max}-byte limit`, { name });
}

/** The last segment of the client's name; EINVAL when nothing is left. */
function clientName(name: unknown): string {
  const base = typeof name === 'string' ? (name.split(/[\\/]/).pop() ?? '') : '';
  if (base.trim() === '' || base === '.' || base === '..' || base.includes('\0')) {
    throw new FsError('EINVAL', `upload: the file needs a name, got ${JSON.stringify(name)}`, { op: 'upload' });
  }
  return base;
}

function isContent(content: unknown): content is UploadFile['content'] {
  if (typeof content !== 'object' || content === null) return false;
  return content instanceof Uint8Array || typeof (content as { path?: unknown }).path === 'string' || Symbol.asyncIterator in content;
}

function isPathContent(content: UploadFile['content']): content is { path: string } {
  return typeof (content as { path?: unknown }).path === 'string' && !(content instanceof Readable) && !(content instanceof Uint8Array);
}

async function fileSize(path: string): Promise<number> {
  const info = await stat(path).catch(rethrowAs(path));
  if (!info.isFile()) throw new FsError('EINVAL', `upload: '${path}' is not a regular file`, { path, op: 'upload' });
  return info.size;
}

function rethrowAs(path: string): (err: unknown) => never {
  return (err) => {
    throw err instanceof UploadRejectedError ? err : fromSystemError(err, { path, op: 'upload' });
  };
}
