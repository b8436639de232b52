import type { FileStat } from '../../drivers/types.js';
import type { NodeRow, RemoteChild } from './types.js';

/**
 * POSIX attributes that travel as object metadata on drivers with
 * capabilities.metadata, so another host mounting the same disk sees them
 * (MOUNT.md): octal st_mode, decimal uid/gid/mtime-ns, and a type marker for
 * symlinks (whose object content is the target).
 */
export const POSIX_METADATA_KEYS = {
  mode: 'storaged-mode',
  uid: 'storaged-uid',
  gid: 'storaged-gid',
  mtimeNs: 'storaged-mtime-ns',
  type: 'storaged-type',
} as const;

/** Attributes decoded from object metadata. */
export interface PosixAttributes {
  /** Full st_mode as stored (type bits may be absent or wrong: callers force them). */
  mode: number;
  uid: number;
  gid: number;
  mtimeNs: bigint;
  /** True when the object is a symlink storaged wrote. */
  symlink: boolean;
}

const MAX_MODE = 0o177777;
const MAX_ID = 0xffffffff;
const MIN_INT64 = -(2n ** 63n);
const MAX_INT64 = 2n ** 63n - 1n;

/** The metadata entries to store with a node's object (lower-case keys). */
export function encodePosixMetadata(node: NodeRow): Record<string, string> {
  const meta: Record<string, string> = {
    [POSIX_METADATA_KEYS.mode]: node.mode.toString(8),
    [POSIX_METADATA_KEYS.uid]: String(node.uid),
    [POSIX_METADATA_KEYS.gid]: String(node.gid),
    [POSIX_METADATA_KEYS.mtimeNs]: node.mtimeNs.toString(),
  };
  if (node.type === 'symlink') meta[POSIX_METADATA_KEYS.type] = 'symlink';
  return meta;
}

/**
 * The attributes present and valid in object metadata. Keys match
 * case-insensitively; values that are not what encodePosixMetadata writes
 * (non-octal mode, negative or oversized ids, a time outside int64, another
 * type) are ignored, never thrown on.
 */
export function decodePosixMetadata(meta: Record<string, string> | undefined): Partial<PosixAttributes> {
  const decoded: Partial<PosixAttributes> = {};
  if (meta === undefined || meta === null || typeof meta !== 'object') return decoded;
  for (const [rawKey, rawValue] of Object.entries(meta)) {
    if (typeof rawValue !== 'string') continue;
    const value = rawValue.trim();
    switch (rawKey.toLowerCase()) {
      case POSIX_METADATA_KEYS.mode: {
        const mode = /^[0-7]{1,6}$/.test(value) ? parseInt(value, 8) : NaN;
        if (mode <= MAX_MODE) decoded.mode = mode;
        break;
      }
      case POSIX_METADATA_KEYS.uid: {
        const uid = decodeId(value);
        if (uid !== undefined) decoded.uid = uid;
        break;
      }
      case POSIX_METADATA_KEYS.gid: {
        const gid = decodeId(value);
        if (gid !== undefined) decoded.gid = gid;
        break;
      }
      case POSIX_METADATA_KEYS.mtimeNs: {
        if (!/^-?\d{1,19}$/.test(value)) break;
        const ns = BigInt(value);
        if (ns >= MIN_INT64 && ns <= MAX_INT64) decoded.mtimeNs = ns;
        break;
      }
      case POSIX_METADATA_KEYS.type:
        if (value.toLowerCase() === 'symlink') decoded.symlink = true;
        break;
    }
  }
  return decoded;
}

function decodeId(value: string): number | undefined {
  if (!/^\d{1,10}$/.test(value)) return undefined;
  const id = Number(value);
  return id <= MAX_ID ? id : undefined;
}

/** True when a stat's metadata marks it as a symlink storaged wrote (its content is the target). */
export function isSymlinkStat(stat: FileStat): boolean {
  return stat.type === 'file' && decodePosixMetadata(stat.metadata).symlink === true;
}

/**
 * A listing entry as reconcileDirectory takes it: name = last path segment,
 * size, lastModified (ms; 0 when invalid), etag, and the POSIX attributes
 * its metadata carries. Listings do not carry a symlink's target (it is the
 * object's content): pass it as `symlinkTarget` after reading the object of
 * an isSymlinkStat() entry; without it the entry is a regular file.
 */
export function remoteChildFromStat(stat: FileStat, symlinkTarget?: string): RemoteChild {
  const path = stat.path.endsWith('/') ? stat.path.slice(0, -1) : stat.path;
  const mtimeMs = stat.lastModified instanceof Date ? stat.lastModified.getTime() : NaN;
  const child: RemoteChild = {
    name: path.slice(path.lastIndexOf('/') + 1),
    type: stat.type === 'directory' ? 'directory' : 'file',
    size: stat.type === 'directory' ? 0 : stat.size,
    mtimeMs: Number.isFinite(mtimeMs) ? mtimeMs : 0,
  };
  if (stat.etag !== undefined) child.etag = stat.etag;
  const posix = decodePosixMetadata(stat.metadata);
  if (posix.mode !== undefined) child.mode = posix.mode;
  if (posix.uid !== undefined) child.uid = posix.uid;
  if (posix.gid !== undefined) child.gid = posix.gid;
  if (posix.mtimeNs !== undefined) child.mtimeNs = posix.mtimeNs;
  if (symlinkTarget !== undefined && child.type === 'file') child.symlinkTarget = symlinkTarget;
  return child;
}
