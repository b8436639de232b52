import { FsError, isFsError } from '../core/errors.js';
import type { FileStat, StorageDriver, Visibility, WriteOptions, WriteResult } from '../drivers/types.js';
import { readToBuffer } from './disk-read.js';

/** Largest file append() and prepend() rewrite by default: 16 MiB (the whole file passes through memory). */
export const DEFAULT_MAX_REWRITE_BYTES = 16 * 2 ** 20;

/** Options of append and prepend. */
export interface RewriteOptions {
  /** Put between the old content and the new when the file already has content (default: nothing). */
  separator?: string;
}

/**
 * append/prepend as a read and a rewrite: StorageDriver has no append, and
 * object stores cannot append at all. Not atomic: a write by someone else
 * between the read and the rewrite is lost. A missing file is created with
 * `data` alone. The rewrite keeps the file's content type, user metadata and
 * (where the backend reports it) visibility. Refuses with EFBIG, before
 * reading, when the result would exceed `maxBytes`; EISDIR for a directory.
 */
export async function rewriteWith(
  driver: StorageDriver,
  path: string,
  data: string | Uint8Array,
  where: 'append' | 'prepend',
  options: RewriteOptions & { maxBytes: number },
): Promise<WriteResult> {
  const added = typeof data === 'string' ? Buffer.from(data, 'utf8') : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const stat = await statOrNull(driver, path);
  if (stat === null) {
    checkLimit(path, where, added.length, options.maxBytes);
    return driver.write(path, added, { size: added.length });
  }
  if (stat.type === 'directory') throw new FsError('EISDIR', `${where} '${path}': is a directory`, { path, op: where });
  const separator = Buffer.from(stat.size > 0 ? (options.separator ?? '') : '', 'utf8');
  checkLimit(path, where, stat.size + separator.length + added.length, options.maxBytes);
  const existing = await readToBuffer(await driver.read(path));
  checkLimit(path, where, existing.length + separator.length + added.length, options.maxBytes);
  const parts = where === 'append' ? [existing, separator, added] : [added, separator, existing];
  const body = Buffer.concat(parts);
  return driver.write(path, body, { ...(await keptAttributes(driver, path, stat)), size: body.length });
}

function checkLimit(path: string, op: string, size: number, maxBytes: number): void {
  if (size > maxBytes) {
    throw new FsError(
      'EFBIG',
      `${op} '${path}': the result would be ${size} bytes, over the ${maxBytes}-byte limit of ${op} (it rewrites the whole file in memory; stream a new file with writeStream instead)`,
      { path, op },
    );
  }
}

async function statOrNull(driver: StorageDriver, path: string): Promise<FileStat | null> {
  try {
    return await driver.stat(path);
  } catch (err) {
    if (isFsError(err, 'ENOENT')) return null;
    throw err;
  }
}

/** What a rewrite must carry over so the file looks the same apart from its content. */
async function keptAttributes(driver: StorageDriver, path: string, stat: FileStat): Promise<WriteOptions> {
  const kept: WriteOptions = {};
  if (stat.mimeType !== undefined) kept.mimeType = stat.mimeType;
  if (driver.capabilities.metadata && stat.metadata !== undefined) kept.metadata = stat.metadata;
  let visibility: Visibility | undefined = stat.visibility;
  if (visibility === undefined && driver.capabilities.visibility) visibility = await driver.getVisibility(path);
  if (visibility !== undefined) kept.visibility = visibility;
  return kept;
}
