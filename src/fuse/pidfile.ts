import { readdir, readFile, readlink, rm, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Pid files of running mounts: `<cache dir>/mounts/<encoded mountpoint>.pid`,
 * holding the serving process's pid. `storaged unmount` reads them to find
 * the process to signal; the log of a `--daemon` mount sits beside it.
 */

/** The folder of pid and log files. */
export function mountsDir(cacheDir: string): string {
  return join(cacheDir, 'mounts');
}

/** The pid file of `mountpoint` (absolute, resolved). */
export function pidFilePath(cacheDir: string, mountpoint: string): string {
  return join(mountsDir(cacheDir), `${encodeURIComponent(mountpoint)}.pid`);
}

/** The log file a `--daemon` mount of `mountpoint` writes to. */
export function logFilePath(cacheDir: string, mountpoint: string): string {
  return join(mountsDir(cacheDir), `${encodeURIComponent(mountpoint)}.log`);
}

/** Records `pid` as the server of the mount whose pid file is `file`. */
export async function writePidFile(file: string, pid = process.pid): Promise<void> {
  await mkdir(join(file, '..'), { recursive: true });
  await writeFile(file, `${pid}\n`);
}

/** The pid in `file`, or undefined when there is none (or it is not a number). */
export async function readPidFile(file: string): Promise<number | undefined> {
  try {
    const pid = Number.parseInt(await readFile(file, 'utf8'), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** Removes `file` if it still names `pid` (a newer mount may have replaced it). */
export async function removePidFile(file: string, pid = process.pid): Promise<void> {
  if ((await readPidFile(file)) === pid) await rm(file, { force: true });
}

/** True while process `pid` exists. */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * True when process `pid` is alive and holds /dev/fuse open, i.e. can be
 * serving a mount. Guards against signalling an unrelated process that
 * reused the pid of a crashed mount.
 */
export async function servesFuse(pid: number): Promise<boolean> {
  if (!processAlive(pid)) return false;
  try {
    const fds = await readdir(`/proc/${pid}/fd`);
    for (const fd of fds) {
      const target = await readlink(`/proc/${pid}/fd/${fd}`).catch(() => '');
      if (target === '/dev/fuse') return true;
    }
    return false;
  } catch {
    return false;
  }
}
