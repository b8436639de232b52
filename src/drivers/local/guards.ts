import { lstat } from 'node:fs/promises';
import { FsError } from '../../core/errors.js';
import { isTempName, TEMP_PREFIX } from './atomic-write.js';
import { codeOf } from './safe-path.js';

/** EINVAL when a segment of `key` has the temporary-file prefix (such names are hidden from listings). */
export function assertNotReserved(key: string): void {
  if (key.split('/').some(isTempName)) {
    throw new FsError('EINVAL', `'${key}': names starting with '${TEMP_PREFIX}' are reserved for temporary files`, { path: key });
  }
}

/** EISDIR when a directory (not a link to one) sits at `abs`, the target of a file operation. */
export async function assertNotDirectory(abs: string, key: string, op: string): Promise<void> {
  const stats = await lstat(abs).catch(() => null);
  if (stats?.isDirectory()) throw new FsError('EISDIR', `${op} '${key}': a directory exists there`, { path: key, op });
}

/** The ENOENT for sockets, fifos and devices: they are not storage entries. */
export function notStorageEntry(key: string, op: string): FsError {
  return new FsError('ENOENT', `${op} '${key}': not a regular file or directory`, { path: key, op });
}

/** The result of `get`, or null when what it looks for does not exist (ENOENT, or a file where a folder was expected). */
export async function existingOrNull<T>(get: () => Promise<T>): Promise<T | null> {
  try {
    return await get();
  } catch (err) {
    if (codeOf(err) === 'ENOENT' || codeOf(err) === 'ENOTDIR') return null;
    throw err;
  }
}
