import { mkdir, readdir, stat } from 'node:fs/promises';
import { FsError, fromSystemError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { findMount, fusermount, probeMount } from './mountinfo.js';

/**
 * Makes `mountpoint` (absolute, resolved) ready to mount on:
 * - a dead FUSE mount there (its process crashed: stat answers ENOTCONN) is
 *   cleaned with `fusermount -uz`, and the log says so;
 * - a live mount there (storaged's or anything else) fails with EBUSY;
 * - a missing folder is created; a file, or a folder with entries, fails
 *   (ENOTDIR / ENOTEMPTY): mounting would hide them.
 */
export async function prepareMountpoint(mountpoint: string, logger: Logger): Promise<void> {
  const existing = await findMount(mountpoint);
  if (existing !== undefined) {
    const liveness = existing.fstype.startsWith('fuse') ? await probeMount(mountpoint) : 'live';
    if (liveness !== 'dead') {
      const why = liveness === 'hung' ? 'its filesystem does not answer' : `${existing.fstype} from ${existing.source}`;
      throw new FsError('EBUSY', `'${mountpoint}' is already mounted (${why}); unmount it first (storaged unmount ${mountpoint})`, {
        path: mountpoint,
        op: 'mount',
      });
    }
    await fusermount(['-uz', mountpoint]);
    logger.warn({ mountpoint, fstype: existing.fstype, source: existing.source }, 'cleaned a stale mount left by a process that died');
    // A stale mount may have been stacked on another dead one.
    return prepareMountpoint(mountpoint, logger);
  }
  await ensureEmptyFolder(mountpoint);
}

async function ensureEmptyFolder(mountpoint: string): Promise<void> {
  try {
    await mkdir(mountpoint, { recursive: true });
    const info = await stat(mountpoint);
    if (!info.isDirectory()) throw new FsError('ENOTDIR', `'${mountpoint}' is not a folder`, { path: mountpoint, op: 'mount' });
    const entries = await readdir(mountpoint);
    if (entries.length > 0) {
      throw new FsError('ENOTEMPTY', `'${mountpoint}' is not empty; mounting over it would hide ${entries.length} entries`, {
        path: mountpoint,
        op: 'mount',
      });
    }
  } catch (err) {
    throw fromSystemError(err, { path: mountpoint, op: 'mount' });
  }
}
