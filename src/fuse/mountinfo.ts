import { execFile } from 'node:child_process';
import { readFile, stat } from 'node:fs/promises';
import { FsError } from '../core/errors.js';

/** One line of /proc/self/mountinfo, the fields storaged looks at. */
export interface MountEntry {
  mountpoint: string;
  /** e.g. `fuse.storaged`, `tmpfs`. */
  fstype: string;
  /** The mount's source, e.g. `storaged:s3`. */
  source: string;
}

/** Every mount of this process's namespace (octal escapes like \040 decoded). */
export async function readMounts(file = '/proc/self/mountinfo'): Promise<MountEntry[]> {
  const text = await readFile(file, 'utf8');
  const entries: MountEntry[] = [];
  for (const line of text.split('\n')) {
    const fields = line.split(' ');
    const separator = fields.indexOf('-');
    const mountpoint = fields[4];
    const fstype = fields[separator + 1];
    if (separator < 0 || mountpoint === undefined || fstype === undefined) continue;
    entries.push({ mountpoint: unescape(mountpoint), fstype, source: unescape(fields[separator + 2] ?? '') });
  }
  return entries;
}

/** The topmost mount at exactly `mountpoint` (an absolute, resolved path), if any. */
export async function findMount(mountpoint: string): Promise<MountEntry | undefined> {
  const matches = (await readMounts()).filter((entry) => entry.mountpoint === mountpoint);
  return matches.at(-1);
}

/** How a mountpoint answers a stat. */
export type Liveness = 'live' | 'dead' | 'hung';

/**
 * Stats `mountpoint` to tell a served mount from one whose process died
 * (ENOTCONN/ECONNABORTED) or stopped answering (no reply in `timeoutMs`).
 */
export async function probeMount(mountpoint: string, timeoutMs = 3000): Promise<Liveness> {
  let timer: NodeJS.Timeout | undefined;
  const hung = new Promise<Liveness>((resolve) => {
    timer = setTimeout(() => resolve('hung'), timeoutMs);
    timer.unref();
  });
  const probe = stat(mountpoint).then(
    (): Liveness => 'live',
    (err: NodeJS.ErrnoException): Liveness => (err.code === 'ENOTCONN' || err.code === 'ECONNABORTED' ? 'dead' : 'live'),
  );
  try {
    return await Promise.race([probe, hung]);
  } finally {
    clearTimeout(timer);
  }
}

/** Runs `fusermount` with `args`; rejects with FsError (EBUSY when the mount is in use, else EIO) quoting its message. */
export function fusermount(args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile('fusermount', args, (err, _stdout, stderr) => {
      if (!err) return resolve();
      const message = (stderr || err.message).trim().replace(/^fusermount: /, '');
      const code = /busy/i.test(message) ? 'EBUSY' : 'EIO';
      reject(new FsError(code, `fusermount ${args.join(' ')}: ${message}`, { op: 'unmount', cause: err }));
    });
  });
}

/**
 * Unmounts `mountpoint` from the kernel: a plain unmount first; if the mount
 * is busy (files still open), a lazy one, which detaches it from the tree at
 * once and lets open files finish. Returns how it went.
 */
export async function unmountKernel(mountpoint: string): Promise<'clean' | 'lazy'> {
  try {
    await fusermount(['-u', mountpoint]);
    return 'clean';
  } catch (err) {
    if (!(err instanceof FsError) || err.code !== 'EBUSY') throw err;
    await fusermount(['-uz', mountpoint]);
    return 'lazy';
  }
}

/** Decodes the octal escapes (\040 for a space...) of a mountinfo field. */
export function unescape(text: string): string {
  return text.replace(/\\([0-7]{3})/g, (_match, octal: string) => String.fromCharCode(parseInt(octal, 8)));
}
