import type { Attr, DirEntry, FsStats, NodeType } from '../daemon/vfs/types.js';
import type { FuseStat, FuseStatfs } from './ops.js';

/**
 * Conversions from VFS values to fuse-native's encodings. fuse-native
 * carries stat times as whole milliseconds (its C side turns them into
 * timespecs with tv_nsec a multiple of 1,000,000), so nanoseconds below the
 * millisecond are not shown; statfs fields are 32-bit. (utimens times come
 * in as nanoseconds: see FuseTime.)
 */

/** st_blksize reported for every node: the largest write the mount asks for, so stdio buffers match it. */
export const PREFERRED_IO_SIZE = 131072;

const TYPE_BITS: Record<NodeType, number> = {
  file: 0o100000,
  directory: 0o040000,
  symlink: 0o120000,
};

const MAX_U32 = 0xffffffff;
const NS_PER_MS = 1_000_000n;

/** A VFS Attr as fuse-native's stat (times in ms, 512-byte block count). */
export function toFuseStat(attr: Attr): FuseStat {
  return {
    mode: attr.mode,
    uid: attr.uid,
    gid: attr.gid,
    size: attr.size,
    dev: 0,
    nlink: attr.nlink,
    ino: attr.ino,
    rdev: 0,
    blksize: PREFERRED_IO_SIZE,
    blocks: Math.ceil(attr.size / 512),
    atime: nsToMs(attr.atimeNs),
    mtime: nsToMs(attr.mtimeNs),
    ctime: nsToMs(attr.ctimeNs),
  };
}

/** The minimal stat readdir needs for d_ino and d_type. */
export function direntStat(ino: number, type: NodeType): FuseStat {
  return { mode: TYPE_BITS[type], uid: 0, gid: 0, size: 0, dev: 0, nlink: 1, ino, rdev: 0, blksize: 0, blocks: 0, atime: 0, mtime: 0, ctime: 0 };
}

/** The d_ino/d_type stats of a listing, '.' and '..' first. */
export function listingStats(self: number, parent: number, entries: DirEntry[]): FuseStat[] {
  return [direntStat(self, 'directory'), direntStat(parent, 'directory'), ...entries.map((e) => direntStat(e.ino, e.type))];
}

/**
 * FsStats as statvfs. The fields are 32-bit on this path, so large counts
 * are scaled: the block size doubles (and the block counts halve) until
 * they fit, which keeps sizes right; file counts are clamped. bsize and
 * frsize are equal, so tools multiplying either by the counts agree (df
 * uses frsize, Node's fs.statfs bsize).
 */
export function toFuseStatfs(stats: FsStats): FuseStatfs {
  let frsize = stats.blockSize;
  let { blocks, blocksFree, blocksAvailable } = stats;
  while (blocks > MAX_U32 || blocksFree > MAX_U32 || blocksAvailable > MAX_U32) {
    frsize *= 2;
    blocks = Math.floor(blocks / 2);
    blocksFree = Math.floor(blocksFree / 2);
    blocksAvailable = Math.floor(blocksAvailable / 2);
  }
  return {
    bsize: Math.min(frsize, MAX_U32),
    frsize: Math.min(frsize, MAX_U32),
    blocks,
    bfree: blocksFree,
    bavail: blocksAvailable,
    files: Math.min(stats.files, MAX_U32),
    ffree: Math.min(stats.filesFree, MAX_U32),
    favail: Math.min(stats.filesFree, MAX_U32),
    fsid: 0,
    flag: 0,
    namemax: stats.nameMax,
  };
}

/** Nanoseconds to whole milliseconds (fuse-native's unit), never negative. */
export function nsToMs(ns: bigint): number {
  return ns <= 0n ? 0 : Number(ns / NS_PER_MS);
}
