import { isFsError } from '../core/errors.js';
import type { DirEntry, Vfs } from '../daemon/vfs/types.js';
import type { FuseStat } from './ops.js';
import { toFuseStat } from './stat.js';

/** An entry of a listing as the FUSE threads may answer for it: its stat, and whether it has no xattr at all. */
export interface ListedEntry {
  name: string;
  stat: FuseStat;
  noXattrs: boolean;
}

/**
 * The attribute cache of the patched binding (native.ts), seen from the
 * adapter: after a listing, the FUSE threads answer getattr of
 * `<dir>/<name>` with the entry's stat, and getxattr (ENODATA) and
 * listxattr (empty) when it has no xattr, without asking JavaScript, for
 * the mount's attribute timeout at most. The binding empties it when any
 * request that may change something starts and when it ends; a fill whose
 * listing overlapped such a request (its generation is stale) stores
 * nothing. This is what readdirplus would give the kernel, which libfuse
 * 2.9 cannot: `ls -l` asks for every entry's attributes and for two xattrs
 * (security.selinux, system.posix_acl_access) that the kernel never caches.
 */
export interface ListingCache {
  /** Read when a listing starts, handed back to fill. */
  generation(): number;
  /** Caches the entries of the directory at `dir` (a mount path, '/' for the root); returns how many were stored. */
  fill(generation: number, dir: string, entries: readonly ListedEntry[]): number;
}

/**
 * Entries of one listing handed to the cache at most: gathering them costs
 * two VFS calls each (about 30-80 µs), paid by every readdir, `ls -l` or
 * not, so a huge directory is not made slower to list than it was; the
 * entries past it are answered by the VFS as before.
 */
export const MAX_LISTED_ENTRIES = 4096;

/**
 * The stat and xattr presence of the first MAX_LISTED_ENTRIES entries of a
 * listing, as getattr and listxattr through the adapter would answer them.
 * An entry that vanished meanwhile (ENOENT) is left out; other failures reject.
 */
export async function listedEntries(vfs: Pick<Vfs, 'getattr' | 'listxattr'>, entries: readonly DirEntry[]): Promise<ListedEntry[]> {
  const listed: ListedEntry[] = [];
  for (const entry of entries.slice(0, MAX_LISTED_ENTRIES)) {
    try {
      const stat = toFuseStat(await vfs.getattr(entry.ino));
      const noXattrs = (await vfs.listxattr(entry.ino)).length === 0;
      listed.push({ name: entry.name, stat, noXattrs });
    } catch (err) {
      if (!isFsError(err, 'ENOENT')) throw err;
    }
  }
  return listed;
}
