import { mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FsError } from '../core/errors.js';

/** An exclusive hold on a disk's cache folder; release() gives it up (idempotent). */
export interface CacheLock {
  readonly file: string;
  release(): void;
}

/**
 * Takes `<dir>/lock` for this process, so two mounts of one disk never share
 * its index and block cache. The file holds the owner's pid: a lock whose
 * process is gone (a crash, SIGKILL) is taken over; one held by a live
 * process is EBUSY naming that pid.
 */
export function lockCacheDir(dir: string): CacheLock {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'lock');
  if (heldHere.has(file)) {
    throw new FsError('EBUSY', `the cache folder '${dir}' is in use by this process: the disk is already mounted here`, { path: dir, op: 'mount' });
  }
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      writeFileSync(file, `${process.pid}\n`, { flag: 'wx', mode: 0o644 });
      return holding(file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const owner = ownerOf(file);
    if (owner !== undefined && owner !== process.pid && isAlive(owner)) {
      throw new FsError('EBUSY', `the cache folder '${dir}' is in use by process ${owner}: is this disk already mounted?`, {
        path: dir,
        op: 'mount',
      });
    }
    removeQuietly(file); // stale: its process is gone (or it carries our pid but no open of ours holds it)
  }
  throw new FsError('EBUSY', `could not take the lock '${file}' (another process keeps creating it)`, { path: dir, op: 'mount' });
}

/** Lock files this process holds (a pid alone cannot tell two opens in one process apart). */
const heldHere = new Set<string>();

function holding(file: string): CacheLock {
  heldHere.add(file);
  let held = true;
  return {
    file,
    release() {
      if (!held) return;
      held = false;
      heldHere.delete(file);
      if (ownerOf(file) === process.pid) removeQuietly(file);
    },
  };
}

function ownerOf(file: string): number | undefined {
  try {
    const pid = Number.parseInt(readFileSync(file, 'utf8'), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'; // exists, owned by someone else
  }
}

function removeQuietly(file: string): void {
  try {
    unlinkSync(file);
  } catch {
    // already gone
  }
}
