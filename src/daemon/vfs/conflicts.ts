import { isFsError } from '../../core/errors.js';
import type { FileStat } from '../../drivers/types.js';
import type { NodeRow } from '../meta/types.js';
import type { VfsContext } from './context.js';
import { joinKey, parentKey } from './names.js';
import type { Ino } from './types.js';

/** Object metadata naming the cache and inode that uploaded a file. */
export const ORIGIN_KEY = 'storaged-origin';

/** The `storaged-origin` value of uploads of `ino` from this cache. */
export function originOf(ctx: VfsContext, ino: Ino): string {
  return `${ctx.settings.originId}:${ino}`;
}

/**
 * Conflicts between local changes and another writer. Before an upload
 * replaces the object at `key`, the backend's current version is compared
 * with the one the index last saw there. When another writer changed (or
 * created) it meanwhile, both are kept: the local file is renamed in the
 * index to a conflict name beside it (`report.conflict-2026-11-28T08-30-12Z.txt`)
 * and uploaded there; the other writer's object stays as it is and shows
 * under its own name at the directory's next listing (made stale at once).
 * Resolves to the key to upload to. Files with several hard links are not
 * diverted. The check and the upload are two requests: a change landing
 * between them is not detected (no conditional writes in the driver API).
 * An object whose bytes are a prefix of the local content (all of it
 * included) is not a conflict either: replacing it loses nothing. That is
 * an upload of ours whose record a crash lost, on a backend without
 * metadata to say so, or one a crash cut short on a backend that writes
 * objects in place (s3rver leaves an empty or partial object, without
 * metadata); an empty object from another writer is replaced too.
 * `localHash` (FileContent.localHash) digests the local prefix; without it
 * only an empty object is taken.
 */
export async function divertOnConflict(ctx: VfsContext, ino: Ino, key: string, localHash?: LocalHash): Promise<string> {
  const node = ctx.index.get(ino);
  if (!node || node.nlink !== 1) return key;
  let current: FileStat;
  try {
    current = await ctx.driver.stat(key);
  } catch (err) {
    if (isFsError(err, 'ENOENT')) return key; // nothing there (or deleted remotely): the upload recreates it
    throw err;
  }
  if (current.type !== 'file' || isOurs(node, current, originOf(ctx, ino))) return key;
  if (await isPrefixOfOurs(ctx, key, current, node.size, localHash)) return key;
  const dirPath = parentKey(key);
  const dir = ctx.index.resolve(dirPath);
  if (dir?.type !== 'directory') return key;
  const name = key.slice(dirPath === '' ? 0 : dirPath.length + 1);
  const conflictName = freeName(ctx, dir.ino, name, new Date());
  ctx.index.transaction(() => {
    ctx.index.rename(dir.ino, name, dir.ino, conflictName);
    ctx.index.expireListing(dir.ino);
  });
  const kept = joinKey(dirPath, conflictName);
  ctx.logger.warn(
    { key, kept, remote: { etag: current.etag, size: current.size }, seen: node.remote },
    'conflict: another writer changed the file while it had local changes; both kept (ours under the conflict name)',
  );
  return kept;
}

/**
 * True when the object at the key is the version the index saw, or one this
 * cache uploaded for this inode (its origin metadata: an upload whose answer
 * was lost, or whose record a crash lost), or (drivers without metadata) has
 * the size and time of what the index saw.
 */
function isOurs(node: NodeRow, current: FileStat, origin: string): boolean {
  if (current.metadata?.[ORIGIN_KEY] === origin) return true;
  const seen = node.remote;
  if (seen !== undefined) {
    if (seen.etag !== undefined && current.etag !== undefined) return seen.etag === current.etag;
    if (seen.size === current.size && Math.abs(seen.mtimeMs - current.lastModified.getTime()) < 1000) return true;
  }
  return false;
}

/** The digest of the first `length` local bytes, undefined when not all of them are local. */
export type LocalHash = (length: number, algorithm: 'sha256' | 'md5') => Promise<string | undefined>;

/**
 * True when the object at `key` holds the first `current.size` bytes of the
 * local content: empty, or its checksum (the backend's md5 or sha256)
 * equals the digest of that local prefix.
 */
async function isPrefixOfOurs(ctx: VfsContext, key: string, current: FileStat, localSize: number, localHash: LocalHash | undefined): Promise<boolean> {
  if (current.size > localSize) return false;
  if (current.size === 0) return true;
  if (localHash === undefined) return false;
  const theirs = await ctx.driver.checksum(key).catch(() => undefined);
  if (theirs === undefined) return false;
  const ours = await localHash(current.size, theirs.algorithm);
  return ours !== undefined && ours === theirs.hex;
}

/** `name` with a conflict stamp before its extension, unused in the directory. */
function freeName(ctx: VfsContext, dir: Ino, name: string, when: Date): string {
  const stamp = when.toISOString().replace(/\.\d+Z$/, 'Z').replace(/:/g, '-');
  const dot = name.lastIndexOf('.');
  const [stem, ext] = dot > 0 ? [name.slice(0, dot), name.slice(dot)] : [name, ''];
  for (let n = 1; ; n++) {
    const candidate = `${stem}.conflict-${stamp}${n > 1 ? `-${n}` : ''}${ext}`;
    if (ctx.index.lookup(dir, candidate) === undefined) return candidate;
  }
}
