import { readFile, writeFile } from 'node:fs/promises';
import { unescape } from './mountinfo.js';

/**
 * Kernel read-ahead of a storaged mount, in KiB. The kernel gives a FUSE
 * mount 128 KiB, which is also the largest read request libfuse 2.9 gets
 * (32 pages): a sequential reader then has about one request in flight.
 * With more, the kernel keeps several 128 KiB requests in flight, so the
 * daemon works on one while the next is on its way.
 */
export const KERNEL_READ_AHEAD_KIB = 1024;

/**
 * Sets the kernel read-ahead of the mount at `mountpoint` (absolute,
 * resolved) to `kib`, through `<bdiRoot>/<major:minor>/read_ahead_kb`.
 * Resolves false, changing nothing, when the mount is not found or the
 * setting cannot be written (only root may write it): read-ahead is a
 * speed-up, never a condition of the mount. Reads `mountinfo`, never the
 * mount itself.
 */
export async function setKernelReadAhead(
  mountpoint: string,
  kib: number,
  { bdiRoot = '/sys/class/bdi', mountinfo = '/proc/self/mountinfo' } = {},
): Promise<boolean> {
  try {
    const device = deviceOf(await readFile(mountinfo, 'utf8'), mountpoint);
    if (device === undefined) return false;
    await writeFile(`${bdiRoot}/${device}/read_ahead_kb`, `${Math.max(0, Math.floor(kib))}\n`);
    return true;
  } catch {
    return false;
  }
}

/** The device (major:minor) of the topmost mount at `mountpoint` in mountinfo text; undefined when none. */
export function deviceOf(mountinfo: string, mountpoint: string): string | undefined {
  let found: string | undefined;
  for (const line of mountinfo.split('\n')) {
    const fields = line.split(' ');
    const device = fields[2];
    const path = fields[4];
    if (device !== undefined && path !== undefined && /^\d+:\d+$/.test(device) && unescape(path) === mountpoint) found = device;
  }
  return found;
}
