import { createHash, randomBytes } from 'node:crypto';
import { constants, createReadStream } from 'node:fs';
import { copyFile, open, rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { FsError, fromSystemError } from '../../../core/errors.js';

/**
 * Durable local file writes for the hook steps and the local drop folder:
 * every file appears under its final name only complete and fsynced
 * (written to a hidden temporary sibling, synced, renamed, the folder
 * synced), so a crash leaves either the old file or the new one. All I/O is
 * async (node:fs/promises); nothing holds a whole file in memory.
 */

/** A hidden temporary name beside `path` ('.<name>.<random>.tmp'), ignored by the drop-folder watchers. */
export function temporarySibling(path: string): string {
  return join(dirname(path), `.${basename(path)}.${randomBytes(4).toString('hex')}.tmp`);
}

/** fsyncs a folder so a rename or create inside it survives a crash. File systems that refuse it are tolerated. */
export async function fsyncDirectory(dir: string): Promise<void> {
  let handle;
  try {
    handle = await open(dir, 'r');
    await handle.sync();
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (code !== 'EINVAL' && code !== 'EISDIR' && code !== 'EBADF' && code !== 'EPERM') throw fromSystemError(err, { path: dir, op: 'fsync' });
  } finally {
    await handle?.close().catch(() => undefined);
  }
}

/** Options of the durable writes. */
export interface DurableWriteOptions {
  /** Permission bits of the new file (default 0o644, less the umask). */
  mode?: number;
  /** Aborts the copy (FsError ECANCELED). */
  signal?: AbortSignal;
}

/**
 * Writes the bytes of `source` to `path` durably (temp + fsync + rename +
 * folder fsync), replacing what is there. Resolves to the number of bytes
 * written. The source stream is consumed chunk by chunk (backpressure: each
 * chunk is written before the next is read) and destroyed on failure.
 */
export async function writeStreamDurably(path: string, source: Readable | AsyncIterable<Uint8Array>, options: DurableWriteOptions = {}): Promise<number> {
  let written = 0;
  async function* counted(): AsyncGenerator<Uint8Array> {
    for await (const chunk of source as AsyncIterable<Uint8Array>) {
      written += chunk.length;
      yield chunk;
    }
  }
  await commitDurably(path, options, async (handle) => {
    await handle.writeFile(counted(), options.signal ? { signal: options.signal } : {});
  }).catch((err: unknown) => {
    (source as Partial<Readable>).destroy?.();
    throw err;
  });
  return written;
}

/** Writes `bytes` to `path` durably (temp + fsync + rename + folder fsync), replacing what is there. */
export async function writeBytesDurably(path: string, bytes: Uint8Array, options: DurableWriteOptions = {}): Promise<void> {
  await commitDurably(path, options, async (handle) => {
    await handle.writeFile(bytes, options.signal ? { signal: options.signal } : {});
  });
}

/**
 * Copies the local file `from` to `to` durably (the kernel's copy, then
 * fsync, rename, folder fsync), replacing what is at `to`. Resolves to the
 * size copied. ENOENT when `from` is missing.
 */
export async function copyFileDurably(from: string, to: string, options: DurableWriteOptions = {}): Promise<number> {
  const temp = temporarySibling(to);
  try {
    // FICLONE: a reflink where the file system can (btrfs, xfs), else the kernel's ordinary copy.
    await copyFile(from, temp, constants.COPYFILE_FICLONE);
    const handle = await open(temp, 'r+');
    let size: number;
    try {
      if (options.mode !== undefined) await handle.chmod(options.mode);
      await handle.sync();
      size = (await handle.stat()).size;
    } finally {
      await handle.close();
    }
    throwIfAborted(options.signal, to);
    await rename(temp, to);
    await fsyncDirectory(dirname(to));
    return size;
  } catch (err) {
    await unlink(temp).catch(() => undefined);
    throw fromSystemError(err, { path: to, op: 'copy' });
  }
}

/**
 * Copies the local file `from` to `to` by the kernel (a reflink where the
 * file system can), through a temporary sibling renamed into place, without
 * fsync: for copies that can be made again (the caller checks what it
 * finds after a crash). Resolves to the size copied; ENOENT when `from` is
 * missing.
 */
export async function copyFileReplaceable(from: string, to: string, options: Pick<DurableWriteOptions, 'signal'> = {}): Promise<number> {
  const temp = temporarySibling(to);
  try {
    await copyFile(from, temp, constants.COPYFILE_FICLONE);
    const size = (await stat(temp)).size;
    throwIfAborted(options.signal, to);
    await rename(temp, to);
    return size;
  } catch (err) {
    await unlink(temp).catch(() => undefined);
    throw fromSystemError(err, { path: to, op: 'copy' });
  }
}

/** `path` with ` (n)` before its extension (`a/b (2).jpg`): the n-th free name for a taken one. */
export function numberedName(path: string, n: number): string {
  const slash = path.lastIndexOf('/');
  const dot = path.lastIndexOf('.');
  return dot > slash + 1 ? `${path.slice(0, dot)} (${n})${path.slice(dot)}` : `${path} (${n})`;
}

/** sha256 of a local file, hex, streamed. */
export async function sha256OfFile(path: string, signal?: AbortSignal): Promise<string> {
  const hash = createHash('sha256');
  try {
    for await (const chunk of createReadStream(path, signal ? { signal } : {})) hash.update(chunk as Buffer);
  } catch (err) {
    throw fromSystemError(err, { path, op: 'sha256' });
  }
  return hash.digest('hex');
}

/** Throws FsError ECANCELED when `signal` is aborted. */
export function throwIfAborted(signal: AbortSignal | undefined, path: string): void {
  if (signal?.aborted) throw new FsError('ECANCELED', `'${path}': the job was stopped`, { path, op: 'hook' });
}

async function commitDurably(
  path: string,
  options: DurableWriteOptions,
  write: (handle: Awaited<ReturnType<typeof open>>) => Promise<void>,
): Promise<void> {
  const temp = temporarySibling(path);
  try {
    const handle = await open(temp, 'wx', options.mode ?? 0o644);
    try {
      await write(handle);
      await handle.sync();
    } finally {
      await handle.close();
    }
    throwIfAborted(options.signal, path);
    await rename(temp, path);
    await fsyncDirectory(dirname(path));
  } catch (err) {
    await unlink(temp).catch(() => undefined);
    throw fromSystemError(err, { path, op: 'write' });
  }
}
