import type { DirEntry } from '../daemon/vfs/types.js';
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

/** A listing's entries as the cache takes them: the attributes and xattr presence readdir gave. */
export function listedEntries(entries: readonly DirEntry[]): ListedEntry[] {
  return entries.map((entry) => ({ name: entry.name, stat: toFuseStat(entry.attr), noXattrs: !entry.hasXattrs }));
}
