import { resolve } from 'node:path';
import { FsError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { Vfs } from '../daemon/vfs/types.js';
import { createFuseOps } from './adapter.js';
import { allowOtherPermitted, asFuseNativeOptions, mountOptions } from './mount-options.js';
import type { ListingCache } from './listing.js';
import { findMount, fusermount, unmountKernel } from './mountinfo.js';
import { prepareMountpoint } from './mountpoint.js';
import { assertPatchedBuild, StoragedFuse } from './native.js';
import { KERNEL_READ_AHEAD_KIB, setKernelReadAhead } from './read-ahead.js';

/** How to mount. */
export interface MountVfsOptions {
  logger: Logger;
  /** Source name shown by df and /proc/mounts, e.g. `storaged:s3`. */
  fsName: string;
  /** Seconds (config mount.attr_timeout / entry_timeout). */
  attrTimeout: number;
  entryTimeout: number;
  /** Default true; dropped with a warning when a non-root user may not use it. */
  allowOther?: boolean;
  /** Longest wait for the kernel's INIT after mounting (default 30 s). */
  initTimeoutMs?: number;
  /** Kernel read-ahead of the mount in KiB (default KERNEL_READ_AHEAD_KIB; set only when running as root). */
  kernelReadAheadKib?: number;
}

/** A live mount. */
export interface MountHandle {
  /** The absolute mountpoint. */
  readonly mountpoint: string;
  /** The `-o` options it was mounted with. */
  readonly options: readonly string[];
  /**
   * Unmounts: a plain unmount, or a lazy one when files are still open (they
   * keep working until closed, so keep the VFS open until this resolves and
   * close it after). Calling it again returns the same promise.
   */
  unmount(): Promise<void>;
}

/**
 * Mounts `vfs` at `mountpoint` through the patched fuse-native (rejects
 * first, with a plain Error, when it is not the patched build). Cleans a
 * stale mount left there by a crashed process (and logs it), fails with
 * EBUSY on a live one, creates the folder if missing. Resolves once the
 * kernel has initialised the mount (and, as root, its read-ahead is raised:
 * read-ahead.ts). Rejects with FsError naming the mountpoint.
 */
export async function mountVfs(vfs: Vfs, mountpoint: string, options: MountVfsOptions): Promise<MountHandle> {
  assertPatchedBuild();
  const path = resolve(mountpoint);
  const { logger } = options;
  await prepareMountpoint(path, logger);

  let allowOther = options.allowOther ?? true;
  if (allowOther && !allowOtherPermitted()) {
    logger.warn('allow_other needs user_allow_other in /etc/fuse.conf; mounting for this user only');
    allowOther = false;
  }
  const list = mountOptions({ fsName: options.fsName, attrTimeout: options.attrTimeout, entryTimeout: options.entryTimeout, allowOther });
  // The listing cache is the binding's: it exists once the StoragedFuse does, after the ops are built.
  let binding: ListingCache | undefined;
  const listingCache: ListingCache = {
    generation: () => binding?.generation() ?? -1,
    fill: (generation, dir, entries) => binding?.fill(generation, dir, entries) ?? 0,
  };
  const ops = createFuseOps(vfs, {
    logger,
    pathCacheTtlMs: options.entryTimeout * 1000,
    // attr_timeout 0 asks for fresh attributes on every request: nothing may be cached then.
    ...(options.attrTimeout > 0 ? { listingCache } : {}),
  });
  const fuse = new StoragedFuse(path, ops, { ...asFuseNativeOptions(list), timeout: false }, async (target) => {
    try {
      const how = await unmountKernel(target);
      if (how === 'lazy') logger.warn({ mountpoint: target }, 'mount busy (files still open): detached lazily');
    } catch (err) {
      // Already unmounted from outside (fusermount -u): only the native handle is left to release.
      if ((await findMount(target)) !== undefined) throw err;
    }
  });

  binding = fuse.listingCache(options.attrTimeout * 1000);

  await withTimeout(
    new Promise<void>((done, fail) => fuse.mount((err) => (err ? fail(err) : done()))),
    options.initTimeoutMs ?? 30_000,
    path,
  ).catch(async (err: unknown) => {
    // Mounted, but the kernel never initialised it: do not leave a dead mount behind.
    if (err instanceof FsError && err.code === 'ETIMEDOUT') await fusermount(['-uz', path]).catch(() => undefined);
    throw mountFailure(err, path);
  });
  const readAheadKib = options.kernelReadAheadKib ?? KERNEL_READ_AHEAD_KIB;
  if (!(await setKernelReadAhead(path, readAheadKib))) logger.debug({ mountpoint: path, readAheadKib }, 'kernel read-ahead left at its default');
  logger.info({ mountpoint: path, options: list }, 'mounted');

  let unmounting: Promise<void> | undefined;
  return {
    mountpoint: path,
    options: list,
    unmount: () => (unmounting ??= new Promise<void>((done, fail) => fuse.unmount((err) => (err ? fail(err) : done())))),
  };
}

function mountFailure(err: unknown, mountpoint: string): FsError {
  if (err instanceof FsError) return err;
  const reason = err instanceof Error ? err.message : String(err);
  const hint = reason === 'fuse failed' ? ' (is /dev/fuse present, and may this user mount FUSE filesystems?)' : '';
  return new FsError('EIO', `cannot mount at '${mountpoint}': ${reason}${hint}`, { path: mountpoint, op: 'mount', cause: err });
}

async function withTimeout<T>(work: Promise<T>, ms: number, mountpoint: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new FsError('ETIMEDOUT', `the kernel did not initialise the mount at '${mountpoint}' within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
