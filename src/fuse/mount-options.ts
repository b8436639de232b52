import { readFileSync } from 'node:fs';

/** What decides the FUSE mount options. */
export interface MountOptionSettings {
  /** Shown as the mount's source in /proc/mounts and df, e.g. `storaged:s3`. */
  fsName: string;
  /** Seconds the kernel caches attributes (config mount.attr_timeout). */
  attrTimeout: number;
  /** Seconds the kernel caches names (config mount.entry_timeout). */
  entryTimeout: number;
  /** Let other users into the mount (needs root or user_allow_other in /etc/fuse.conf). */
  allowOther: boolean;
}

/** The filesystem subtype: the mount shows as `fuse.storaged`. */
export const FUSE_SUBTYPE = 'storaged';
/** The largest write request the kernel sends (and the most fuse allows). */
export const MAX_WRITE = 131072;

/**
 * The `-o` options of a storaged mount, each chosen on purpose:
 * - default_permissions: the kernel checks mode/uid/gid from getattr for
 *   every access (the VFS adds only the owner rules the kernel leaves to
 *   file systems, against the request's caller).
 * - allow_other: a mount is a shared directory, not the mounter's alone.
 * - use_ino: stat shows the VFS's inode numbers (hard links share one);
 *   without it high-level libfuse invents its own per path.
 * - big_writes, max_write=131072: 128 KiB write requests instead of 4 KiB;
 *   measured 27 MB/s without, 214-467 MB/s with (ARCHITECTURE.md).
 * - auto_cache, not kernel_cache: the page cache survives across opens while
 *   the file's mtime and size are unchanged (warm reads stay in the kernel),
 *   and is dropped on open when they changed, which is how a remote change
 *   picked up by the index refresh reaches readers. kernel_cache would keep
 *   serving the old pages until they are evicted.
 * - attr_timeout/entry_timeout: from config; how long stat and lookups are
 *   answered by the kernel without asking storaged.
 * Not set: hard_remove. With it, high-level libfuse forgets the path of a
 * file unlinked or renamed over while open at once, and then fails every
 * path-based request for that inode by itself: fstat(2) of an unlinked open
 * file above all (measured: ENOENT), and opens and stats that raced a rename
 * over the file (150 of 150 renames under concurrent readers showed one).
 * Without it, libfuse renames such an open file to `.fuse_hiddenNNN` and
 * keeps serving it by that name; the adapter turns that rename into a VFS
 * unlink plus a private alias (hidden.ts), so neither the backend nor
 * listings see it. (The other race, an open of a name just renamed over when
 * nobody had the old file open, is answered ESTALE by the patched
 * fuse-native, so the kernel looks the name up again.)
 */
export function mountOptions(settings: MountOptionSettings): string[] {
  return [
    `fsname=${safeFsName(settings.fsName)}`,
    `subtype=${FUSE_SUBTYPE}`,
    'default_permissions',
    ...(settings.allowOther ? ['allow_other'] : []),
    'use_ino',
    'big_writes',
    `max_write=${MAX_WRITE}`,
    'auto_cache',
    `attr_timeout=${settings.attrTimeout}`,
    `entry_timeout=${settings.entryTimeout}`,
  ];
}

/**
 * fuse-native's options object carrying `options` verbatim. fuse-native
 * has no setting for several of them (big_writes, max_write, use_ino, a 0
 * timeout) but joins `'fsname=' + fsname` into its option string unescaped,
 * so the whole list travels as the value of `fsname` (first must be fsname=).
 */
export function asFuseNativeOptions(options: string[]): { fsname: string } {
  const [first, ...rest] = options;
  if (first === undefined || !first.startsWith('fsname=')) throw new Error('mount options must start with fsname=');
  return { fsname: [first.slice('fsname='.length), ...rest].join(',') };
}

/** True when a non-root user may use allow_other (user_allow_other in /etc/fuse.conf). */
export function allowOtherPermitted(fuseConf = '/etc/fuse.conf'): boolean {
  if (process.getuid?.() === 0) return true;
  try {
    return /^\s*user_allow_other\s*$/m.test(readFileSync(fuseConf, 'utf8'));
  } catch {
    return false;
  }
}

/** Keeps a name safe inside a comma-separated option list (and /proc/mounts). */
function safeFsName(name: string): string {
  return name.replace(/[^A-Za-z0-9._:@+-]/g, '_');
}
