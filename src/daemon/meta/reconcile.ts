import type { NodeType } from '../vfs/types.js';
import type { Ino } from '../vfs/types.js';
import type { IndexCore } from './core.js';
import { DEFAULT_PERMISSIONS, withTypeBits } from './node-row.js';
import type { LocalChildRecord } from './statements.js';
import type { ReconcileOptions, ReconcileResult, RemoteChild, RemoteVersion } from './types.js';

/**
 * Merges a complete backend listing of directory `dir` into the index, in
 * one transaction (see MetadataIndex.reconcileDirectory):
 * - a remote child missing locally is added ('clean', remote version set;
 *   POSIX attributes from the child, else defaults: 0644/0755/0777, the
 *   mount's uid/gid, all three times from mtimeNs or mtimeMs);
 * - a clean local child whose remote version differs (etag when both have
 *   one, else size + mtimeMs) is refreshed: size, mtime, remote version and
 *   the attributes the child carries; mode/uid/gid it does not carry stay;
 *   its block map and content hash are dropped; ctime = now; its ino is
 *   reported in `changed`;
 * - a local directory listed as a directory is unchanged whatever the
 *   listing says of it (directories have no version, and backends report
 *   their times inconsistently: an S3 prefix lists with time 0); one with no
 *   remote version (local-only) takes the listed one and becomes clean;
 * - a clean local child of another type than the remote one is replaced;
 * - a 'new'/'dirty' local child is kept; when the remote version differs from
 *   what the node last synced with, its ino is reported in `conflicts`;
 * - a clean local child with a remote version that the listing lacks is
 *   removed, directories with everything below them, except nodes below it
 *   with local changes: those stay, and so do the directories holding them,
 *   which become local-only ('new', no remote version);
 * - removed nodes lose their rows (block maps and xattrs with them), except
 *   a hard-linked file that keeps other names, and a node `options.keep`
 *   names: it keeps its row with nlink 0 (ctime = now) until forget().
 * Duplicate names in the listing (an object store holding both 'a' and 'a/')
 * keep the directory. Names that cannot be entries ('', '.', '..', with '/')
 * are skipped. Updated counts a replaced node once.
 */
export function reconcileDirectory(core: IndexCore, dir: Ino, children: RemoteChild[], nowMs: number, options: ReconcileOptions = {}): ReconcileResult {
  core.requireDirectory(dir);
  const result: ReconcileResult = { added: 0, updated: 0, removed: 0, changed: [], conflicts: [] };
  const local = new Map<string, LocalChildRecord>();
  for (const record of core.st.localChildren.all(dir)) local.set(record.name, record);
  const ctimeNs = core.now();
  const removal: Removal = { core, keep: options.keep, ctimeNs };

  for (const child of uniqueChildren(children)) {
    const existing = local.get(child.name);
    if (existing === undefined) {
      insertChild(core, dir, child);
      result.added++;
      continue;
    }
    local.delete(child.name);
    const type = remoteType(child);
    if (existing.type === 'directory' && type === 'directory') {
      if (existing.remote_size === null) markDirectorySynced(core, existing.ino, child);
      continue;
    }
    const changed = !sameVersion(existing, child);
    if (existing.state !== 'clean') {
      if (changed) result.conflicts.push(existing.ino);
    } else if (existing.type !== type) {
      if (removeTree(removal, dir, existing)) {
        insertChild(core, dir, child);
        result.updated++;
      } else {
        result.conflicts.push(existing.ino);
      }
    } else if (changed) {
      refreshChild(core, existing.ino, type, child, ctimeNs);
      result.updated++;
      result.changed.push(existing.ino);
    }
  }

  for (const gone of local.values()) {
    if (gone.state !== 'clean' || gone.remote_size === null) continue;
    if (removeTree(removal, dir, gone)) result.removed++;
  }
  core.recountLinks(dir);
  core.st.setListedAt.run(dir, Math.round(nowMs));
  return result;
}

/** The node type a remote child becomes. */
function remoteType(child: RemoteChild): NodeType {
  if (child.type === 'directory') return 'directory';
  return child.symlinkTarget !== undefined ? 'symlink' : 'file';
}

function remoteVersion(child: RemoteChild): RemoteVersion {
  const version: RemoteVersion = { size: Math.round(child.size), mtimeMs: validMs(child.mtimeMs) };
  if (child.etag !== undefined) version.etag = child.etag;
  return version;
}

/** True when the child is the object version the node last synced with: etags when both have one, else size and mtime. */
function sameVersion(stored: LocalChildRecord, child: RemoteChild): boolean {
  if (stored.remote_size === null || stored.remote_mtime_ms === null) return false;
  if (stored.remote_etag !== null && child.etag !== undefined) return stored.remote_etag === child.etag;
  return stored.remote_size === Math.round(child.size) && stored.remote_mtime_ms === validMs(child.mtimeMs);
}

function uniqueChildren(children: RemoteChild[]): Iterable<RemoteChild> {
  const byName = new Map<string, RemoteChild>();
  for (const child of children) {
    const name = child.name;
    if (name === '' || name === '.' || name === '..' || name.includes('/') || name.includes('\0')) continue;
    const first = byName.get(name);
    if (first === undefined || (first.type !== 'directory' && child.type === 'directory')) byName.set(name, child);
  }
  return byName.values();
}

function validMs(ms: number): number {
  return Number.isFinite(ms) ? Math.round(ms) : 0;
}

function mtimeNsOf(child: RemoteChild): bigint {
  return child.mtimeNs ?? BigInt(validMs(child.mtimeMs)) * 1_000_000n;
}

function sizeOf(type: NodeType, child: RemoteChild): number {
  if (type === 'directory') return 0;
  if (type === 'symlink') return Buffer.byteLength(child.symlinkTarget ?? '');
  return Math.round(child.size);
}

function insertChild(core: IndexCore, dir: Ino, child: RemoteChild): void {
  const type = remoteType(child);
  const mtimeNs = mtimeNsOf(child);
  // Positional values in insertNode's column order (see insertValues): this runs 100,000 times per big listing.
  const ino = core.st.insertNode.run(
    type,
    withTypeBits(type, child.mode ?? DEFAULT_PERMISSIONS[type]),
    child.uid ?? core.uid,
    child.gid ?? core.gid,
    sizeOf(type, child),
    mtimeNs,
    mtimeNs,
    mtimeNs,
    type === 'directory' ? 2 : 1,
    type === 'symlink' ? child.symlinkTarget! : null,
    'clean',
    child.etag ?? null,
    Math.round(child.size),
    validMs(child.mtimeMs),
    null,
  ).lastInsertRowid;
  core.st.insertEntry.run(dir, child.name, ino);
}

/** A listed directory that had no remote version (local-only, or never synced) now has the listed one. */
function markDirectorySynced(core: IndexCore, ino: Ino, child: RemoteChild): void {
  const remote = remoteVersion(child);
  core.st.markDirectorySynced.run(remote.etag ?? null, remote.size, remote.mtimeMs, ino);
}

function refreshChild(core: IndexCore, ino: Ino, type: NodeType, child: RemoteChild, ctimeNs: bigint): void {
  const remote = remoteVersion(child);
  core.st.refreshNode.run({
    ino,
    mode: child.mode === undefined ? null : withTypeBits(type, child.mode),
    uid: child.uid ?? null,
    gid: child.gid ?? null,
    size: sizeOf(type, child),
    mtime_ns: mtimeNsOf(child),
    ctime_ns: ctimeNs,
    target: type === 'symlink' ? child.symlinkTarget! : null,
    remote_etag: remote.etag ?? null,
    remote_size: remote.size,
    remote_mtime_ms: remote.mtimeMs,
  });
  core.st.clearBlocks.run(ino);
}

/** What removeTree works with. */
interface Removal {
  core: IndexCore;
  /** Nodes that keep their row when they lose their last name. */
  keep: ((ino: Ino) => boolean) | undefined;
  /** ctime of the nodes kept. */
  ctimeNs: bigint;
}

/**
 * Removes a clean child (and, for a directory, every clean node below it).
 * Returns false when something below holds local changes: that directory
 * then stays, local-only.
 */
function removeTree(removal: Removal, parent: Ino, child: LocalChildRecord): boolean {
  const { core } = removal;
  if (child.type === 'directory') {
    let emptied = true;
    for (const below of core.st.localChildren.all(child.ino)) {
      if (below.state !== 'clean' || !removeTree(removal, child.ino, below)) emptied = false;
    }
    if (!emptied) {
      core.st.markLocalOnly.run(child.ino);
      core.recountLinks(child.ino);
      return false;
    }
  }
  core.st.deleteEntry.run(parent, child.name);
  const names = core.st.linkCount.get(child.ino)!;
  if (names === 0 && removal.keep?.(child.ino) !== true) {
    core.st.deleteNode.run(child.ino);
    return true;
  }
  core.st.setNlink.run(names, child.ino);
  if (names === 0) core.st.touchCtime.run({ ino: child.ino, now: removal.ctimeNs });
  return true;
}
