import { stat } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { fileTypeFromBuffer, fileTypeFromFile, fileTypeFromStream, fileTypeStream, type FileTypeResult } from 'file-type';
import { FsError, fromSystemError } from '../../core/errors.js';

/** A file's real type as its content shows: MIME type and file-type's canonical extension (no dot). */
export interface SniffResult {
  mime: string;
  ext: string;
}

/**
 * Sniffs a file's type from its first bytes (file-type's magic numbers): a
 * path (read only as far as needed), bytes, or a Readable. Resolves
 * undefined when no known binary format matches, which is the case for plain
 * text, scripts, CSV, JSON and the like. A Readable is left partly consumed:
 * use {@link sniffStream} to keep its bytes. Rejects with an FsError (ENOENT,
 * EISDIR, EACCES, EIO...) when the input cannot be read.
 */
export async function sniffFile(input: string | Uint8Array | Readable): Promise<SniffResult | undefined> {
  try {
    const found =
      typeof input === 'string'
        ? await sniffPath(input)
        : input instanceof Uint8Array
          ? await fileTypeFromBuffer(input)
          : await fileTypeFromStream(input);
    return found === undefined ? undefined : { mime: found.mime, ext: found.ext };
  } catch (err) {
    throw fromSystemError(err, { op: 'sniff', ...(typeof input === 'string' ? { path: input } : {}) });
  }
}

/** file-type on a path, refusing a folder (which file-type would report as no type). */
async function sniffPath(path: string): Promise<FileTypeResult | undefined> {
  if ((await stat(path)).isDirectory()) throw new FsError('EISDIR', `cannot sniff '${path}': it is a folder`, { op: 'sniff', path });
  return fileTypeFromFile(path);
}

/**
 * Sniffs a Readable without losing its bytes: resolves the type and a stream
 * that yields every byte of the original, from the start (file-type buffers
 * at most `sampleSize` bytes, default 4100, to decide). For a pipeline that
 * both checks the type and then scans or stores the same stream.
 */
export async function sniffStream(source: Readable, sampleSize?: number): Promise<{ sniffed: SniffResult | undefined; stream: Readable }> {
  try {
    const stream = await fileTypeStream(source, sampleSize === undefined ? {} : { sampleSize });
    const found = stream.fileType;
    return { sniffed: found === undefined ? undefined : { mime: found.mime, ext: found.ext }, stream };
  } catch (err) {
    throw fromSystemError(err, { op: 'sniff' });
  }
}
