import { readFile } from 'node:fs/promises';
import type { DiskStatus } from '../../src/daemon/status.js';
import { run, sleep, type Daemon } from './proc.js';

/** Mount points in /proc/self/mountinfo escape space, tab, newline and backslash as octal. */
function unescapeMountPath(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_m, octal: string) => String.fromCharCode(parseInt(octal, 8)));
}

/** A mount that did not come up (the tool could not mount at all). */
export class MountError extends Error {}

/** True when `dir` is a mount point right now (read from /proc/self/mountinfo). */
export async function isMounted(dir: string): Promise<boolean> {
  const info = await readFile('/proc/self/mountinfo', 'utf8');
  return info.split('\n').some((line) => {
    const mountPoint = line.split(' ')[4];
    return mountPoint !== undefined && unescapeMountPath(mountPoint) === dir;
  });
}

/**
 * Waits until `dir` is mounted by `daemon`; throws with the daemon's output
 * when it exits first or the mount does not appear within timeoutMs.
 */
export async function waitForMount(dir: string, daemon: Daemon, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await isMounted(dir)) return;
    if (daemon.exited()) throw new MountError(`the mount process exited before ${dir} was mounted:\n${daemon.output()}`);
    await sleep(100);
  }
  throw new MountError(`${dir} was not mounted after ${timeoutMs} ms:\n${daemon.output()}`);
}

/**
 * Stops a mount daemon by its pid and makes sure nothing stays mounted at
 * `dir`: SIGTERM (the tools unmount themselves on it), SIGKILL after the
 * grace period, then `fusermount -uz` if the mount is still there.
 */
export async function stopMount(dir: string, daemon: Daemon): Promise<void> {
  try {
    await daemon.stop(15_000);
  } finally {
    if (await isMounted(dir)) await run('fusermount', ['-uz', dir], { timeoutMs: 30_000 });
  }
}

/** A mounted volume the workloads run on. */
export interface Mounted {
  /** The folder programs use. */
  readonly root: string;
  /** The process serving the mount (its memory is sampled), or null for the plain local disk. */
  readonly pid: number | null;
  /** Stops the serving process and removes the mount; safe to call twice. */
  unmount(): Promise<void>;
  /** The tool's cache folder for this mount, when it keeps one on disk. */
  readonly cacheDir?: string;
  /** storaged only: the mount's `storaged status --json` (an array with one DiskStatus). */
  status?(): Promise<DiskStatus[]>;
}

/** What a tool's target adds to a FUSE mount (see Mounted). */
export type MountExtras = Pick<Mounted, 'cacheDir' | 'status'>;

/** Every mount still up, so that an interrupted run can take them all down. */
export const liveMounts = new Set<Mounted>();

/**
 * Starts `command args` in the foreground as the process serving a FUSE
 * mount at `dir`, and resolves once the mount is there (with the target's
 * `extras`). On failure the process is stopped by pid and the mount point
 * cleaned before rethrowing.
 */
export async function fuseMount(daemonStart: () => Daemon, dir: string, extras: MountExtras = {}): Promise<Mounted> {
  if (await isMounted(dir)) await run('fusermount', ['-uz', dir], { timeoutMs: 30_000 });
  const daemon = daemonStart();
  try {
    await waitForMount(dir, daemon);
  } catch (err) {
    await stopMount(dir, daemon);
    throw err;
  }
  let stopped: Promise<void> | undefined;
  const mounted: Mounted = {
    ...extras,
    root: dir,
    pid: daemon.pid,
    unmount() {
      liveMounts.delete(mounted);
      stopped ??= stopMount(dir, daemon);
      return stopped;
    },
  };
  liveMounts.add(mounted);
  return mounted;
}
