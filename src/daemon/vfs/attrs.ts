import { constants } from 'node:fs';
import type { NodeRow } from '../meta/types.js';
import type { VfsContext } from './context.js';
import type { Attr, Caller, FsStats } from './types.js';
import { NAME_MAX } from './names.js';

/** Permission bits, setuid/setgid/sticky included. */
export const PERMISSION_BITS = 0o7777;
const TYPE_BITS = { file: constants.S_IFREG, directory: constants.S_IFDIR, symlink: constants.S_IFLNK } as const;

/** Full st_mode for a node type and permission bits. */
export function modeOf(type: NodeRow['type'], permissions: number): number {
  return TYPE_BITS[type] | (permissions & PERMISSION_BITS);
}

/**
 * The stat(2) view of a node. An open file shows its content's current size
 * (dirty writes included) and the times of writes not yet saved to the index.
 */
export function toAttr(ctx: VfsContext, node: NodeRow): Attr {
  const file = node.type === 'file' ? ctx.handles.file(node.ino) : undefined;
  const size = file ? file.content.size() : node.type === 'symlink' && node.target !== undefined ? Buffer.byteLength(node.target) : node.size;
  return {
    ino: node.ino,
    type: node.type,
    mode: modeOf(node.type, node.mode),
    nlink: node.nlink,
    uid: node.uid,
    gid: node.gid,
    size,
    atimeNs: node.atimeNs,
    mtimeNs: file?.overlay?.mtimeNs ?? node.mtimeNs,
    ctimeNs: file?.overlay?.ctimeNs ?? node.ctimeNs,
  };
}

/** True for root. */
export function isRoot(caller: Caller): boolean {
  return caller.uid === 0;
}

/** True when the caller owns the node or is root. */
export function ownsOrRoot(caller: Caller, node: NodeRow): boolean {
  return caller.uid === 0 || caller.uid === node.uid;
}

/**
 * Whether the caller may write the node by its mode bits (owner, then group,
 * then other). Only the caller's primary gid is known: supplementary groups
 * do not count. Root may always write.
 */
export function mayWrite(caller: Caller, node: NodeRow): boolean {
  if (caller.uid === 0) return true;
  const shift = caller.uid === node.uid ? 6 : caller.gid === node.gid ? 3 : 0;
  return ((node.mode >> shift) & 0o2) !== 0;
}

/** The bytes statfs reports: a remote disk has no size of its own, so a fixed 1 PiB is shown. */
export const REPORTED_CAPACITY = 2 ** 50;
const STATFS_BLOCK = 4096;
const REPORTED_FILES = 2 ** 32;

/**
 * statfs: a fixed 1 PiB of 4 KiB blocks, of which the cache's current use is
 * shown as used (so `df` moves while writing); 2^32 inodes minus those the
 * index holds; names up to 255 bytes.
 */
export function fsStats(ctx: VfsContext): FsStats {
  const blocks = REPORTED_CAPACITY / STATFS_BLOCK;
  const usage = ctx.content.usage();
  const used = Math.min(blocks, Math.ceil((usage.bytes + usage.dirtyBytes) / STATFS_BLOCK));
  const nodes = ctx.index.counts().nodes;
  return {
    blockSize: STATFS_BLOCK,
    blocks,
    blocksFree: blocks - used,
    blocksAvailable: blocks - used,
    files: REPORTED_FILES,
    filesFree: Math.max(0, REPORTED_FILES - nodes),
    nameMax: NAME_MAX,
  };
}
