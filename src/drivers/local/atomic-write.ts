import { randomBytes } from 'node:crypto';
import { constants as fsConstants, type BigIntStats } from 'node:fs';
import { copyFile, open, rename, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { FsError } from '../../core/errors.js';

/**
 * Prefix of the temporary files writes stream into. Names starting with it
 * are hidden from listings and refused as keys. It is short so the temporary
 * name stays within NAME_MAX whatever the final name's length.
 */
export const TEMP_PREFIX = '.storaged-tmp-';

/** True for a name that is (or could be) one of our temporary files. */
export function isTempName(name: string): boolean {
  return name.startsWith(TEMP_PREFIX);
}

/** A fresh temporary file name (unique per call). */
export function tempName(): string {
  return `${TEMP_PREFIX}${randomBytes(8).toString('hex')}`;
}

/** What writeAtomic stored: the byte count and the file's own stat (taken before the rename, so no later writer's). */
export interface WrittenFile {
  size: number;
  stats: BigIntStats;
}

/**
 * Streams `body` into a temporary file inside `dir` (an existing real
 * directory), sets `mode`, fsyncs it and renames it over `dir/name`. On any
 * failure, including a body that errors midway or an aborted `signal`, the
 * temporary file is removed and whatever `dir/name` held before is left
 * untouched.
 */
export async function writeAtomic(dir: string, name: string, body: Readable, mode: number, signal?: AbortSignal): Promise<WrittenFile> {
  return withTempFile(dir, name, async (tempPath) => {
    const handle = await open(tempPath, 'wx', mode);
    try {
      const size = await pump(body, handle, signal);
      await finishFile(handle, mode);
      return { size, stats: await handle.stat({ bigint: true }) };
    } finally {
      await handle.close();
    }
  });
}

/**
 * Copies the file `source` (a real path) to `dir/name` through a temporary
 * file and a rename, with permission bits `mode`. The kernel copies the bytes
 * (a reflink where the filesystem has them).
 */
export async function copyAtomic(source: string, dir: string, name: string, mode: number): Promise<void> {
  await withTempFile(dir, name, async (tempPath) => {
    await copyFile(source, tempPath, fsConstants.COPYFILE_EXCL | fsConstants.COPYFILE_FICLONE);
    const handle = await open(tempPath, fsConstants.O_RDWR | fsConstants.O_NOFOLLOW);
    try {
      await finishFile(handle, mode);
    } finally {
      await handle.close();
    }
  });
}

async function withTempFile<T>(dir: string, name: string, fill: (tempPath: string) => Promise<T>): Promise<T> {
  const tempPath = join(dir, tempName());
  try {
    const result = await fill(tempPath);
    await rename(tempPath, join(dir, name));
    await syncDirectory(dir);
    return result;
  } catch (err) {
    await unlink(tempPath).catch(() => undefined);
    throw err;
  }
}

async function finishFile(handle: FileHandle, mode: number): Promise<void> {
  // chmod on the handle is not subject to the umask, unlike open's mode.
  await handle.chmod(mode);
  await handle.sync();
}

async function pump(body: Readable, handle: FileHandle, signal?: AbortSignal): Promise<number> {
  throwIfAborted(signal);
  const onAbort = () => body.destroy(abortError());
  signal?.addEventListener('abort', onAbort, { once: true });
  let size = 0;
  try {
    for await (const chunk of body) {
      throwIfAborted(signal);
      const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Uint8Array);
      let written = 0;
      while (written < bytes.byteLength) {
        const { bytesWritten } = await handle.write(bytes, written, bytes.byteLength - written);
        written += bytesWritten;
      }
      size += bytes.byteLength;
    }
    throwIfAborted(signal);
    return size;
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
}

/** Durably records the rename; a filesystem that cannot fsync a directory is tolerated. */
async function syncDirectory(dir: string): Promise<void> {
  let handle: FileHandle | undefined;
  try {
    handle = await open(dir, fsConstants.O_RDONLY | fsConstants.O_DIRECTORY);
    await handle.sync();
  } catch {
    // Some filesystems refuse fsync on directories (EINVAL); the file itself is synced.
  } finally {
    await handle?.close().catch(() => undefined);
  }
}

function throwIfAborted(signal?: AbortSignal): void {
  if (signal?.aborted) throw abortError();
}

function abortError(): FsError {
  return new FsError('ECANCELED', 'write aborted by the caller', { op: 'write' });
}
