import { constants } from 'node:fs';
import { FsError } from '../../core/errors.js';
import type { Ino, NodeType } from '../vfs/types.js';
import type { NodeRow, SyncState } from './types.js';

/**
 * A `nodes` row as the node statements return it: raw (an array, in
 * NODE_COLUMNS order, possibly after leading extra columns) with
 * safeIntegers (every INTEGER a bigint). Arrays instead of objects halve the
 * cost of listing 100,000 children.
 */
export type NodeValues = unknown[];

/** The `nodes` columns, qualified with alias `n`, in the order toNodeRow reads them. */
export const NODE_COLUMNS =
  'n.ino, n.type, n.mode, n.uid, n.gid, n.size, n.atime_ns, n.mtime_ns, n.ctime_ns, n.nlink, n.target, n.state, ' +
  'n.remote_etag, n.remote_size, n.remote_mtime_ms, n.content_hash';

/** Named parameters of the insert/update statements (`@mode`, ...). */
export interface NodeParams {
  ino?: number;
  type: NodeType;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  atime_ns: bigint;
  mtime_ns: bigint;
  ctime_ns: bigint;
  nlink: number;
  target: string | null;
  state: SyncState;
  remote_etag: string | null;
  remote_size: number | null;
  remote_mtime_ms: number | null;
  content_hash: string | null;
}

/** Converts stored values (NODE_COLUMNS from `offset` on) to a NodeRow; optional fields are absent when NULL. */
export function toNodeRow(values: NodeValues, offset = 0): NodeRow {
  const v = (column: number): unknown => values[offset + column];
  const node: NodeRow = {
    ino: Number(v(0)),
    type: v(1) as NodeType,
    mode: Number(v(2)),
    uid: Number(v(3)),
    gid: Number(v(4)),
    size: Number(v(5)),
    atimeNs: v(6) as bigint,
    mtimeNs: v(7) as bigint,
    ctimeNs: v(8) as bigint,
    nlink: Number(v(9)),
    state: v(11) as SyncState,
  };
  const target = v(10);
  if (target !== null) node.target = target as string;
  const remoteSize = v(13);
  const remoteMtime = v(14);
  if (remoteSize !== null && remoteMtime !== null) {
    node.remote = { size: Number(remoteSize), mtimeMs: Number(remoteMtime) };
    const etag = v(12);
    if (etag !== null) node.remote.etag = etag as string;
  }
  const hash = v(15);
  if (hash !== null) node.contentHash = hash as string;
  return node;
}

/** Statement parameters for a node (ino included when given). */
export function toNodeParams(node: Omit<NodeRow, 'ino'> & { ino?: Ino }): NodeParams {
  const params: NodeParams = {
    type: node.type,
    mode: withTypeBits(node.type, node.mode),
    uid: node.uid,
    gid: node.gid,
    size: node.size,
    atime_ns: node.atimeNs,
    mtime_ns: node.mtimeNs,
    ctime_ns: node.ctimeNs,
    nlink: node.nlink,
    target: node.target ?? null,
    state: node.state,
    remote_etag: node.remote?.etag ?? null,
    remote_size: node.remote?.size ?? null,
    remote_mtime_ms: node.remote?.mtimeMs ?? null,
    content_hash: node.contentHash ?? null,
  };
  if (node.ino !== undefined) params.ino = node.ino;
  return params;
}

/** Positional values of the insertNode statement (the column order of its NODE_FIELDS). */
export function insertValues(p: NodeParams): unknown[] {
  return [
    p.type, p.mode, p.uid, p.gid, p.size, p.atime_ns, p.mtime_ns, p.ctime_ns, p.nlink,
    p.target, p.state, p.remote_etag, p.remote_size, p.remote_mtime_ms, p.content_hash,
  ];
}

/** The st_mode type bits of a node type. */
export function typeBits(type: NodeType): number {
  switch (type) {
    case 'directory':
      return constants.S_IFDIR;
    case 'symlink':
      return constants.S_IFLNK;
    default:
      return constants.S_IFREG;
  }
}

/** `mode` with its type bits forced to match `type` (permission, setuid/setgid/sticky bits kept). */
export function withTypeBits(type: NodeType, mode: number): number {
  return typeBits(type) | (mode & 0o7777);
}

/** Default permission bits of nodes that come without POSIX attributes. */
export const DEFAULT_PERMISSIONS: Readonly<Record<NodeType, number>> = { file: 0o644, directory: 0o755, symlink: 0o777 };

let lastClockNs = 0n;

/**
 * Wall-clock nanoseconds since the epoch (Date.now(), so millisecond
 * resolution), strictly increasing within the process so that two changes
 * in one millisecond still get different times.
 */
export function wallClockNs(): bigint {
  const wall = BigInt(Date.now()) * 1_000_000n;
  lastClockNs = wall > lastClockNs ? wall : lastClockNs + 1n;
  return lastClockNs;
}

/**
 * Rejects a name that cannot be a directory entry: empty, '.', '..', or
 * containing '/' or NUL (EINVAL).
 */
export function checkName(name: string): void {
  if (name === '' || name === '.' || name === '..' || name.includes('/') || name.includes('\0')) {
    throw new FsError('EINVAL', `invalid file name '${name}'`, { path: name });
  }
}
