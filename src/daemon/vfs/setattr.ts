import { constants } from 'node:fs';
import { FsError } from '../../core/errors.js';
import type { NodeRow, NodeUpdate } from '../meta/types.js';
import { isRoot, mayWrite, modeOf, ownsOrRoot } from './attrs.js';
import { nowNs } from './clock.js';
import { saveFile } from './commit.js';
import { noteMetaChange, requireNode, type VfsContext } from './context.js';
import type { DataPath } from './data.js';
import { withFile } from './lifecycle.js';
import { S_ISGID, S_ISUID } from './modes.js';
import type { AttrChanges, Caller, Fh, Ino, TimeSpec } from './types.js';

/**
 * setattr: chmod, chown, utimens and truncate, with the owner rules the
 * kernel leaves to the file system under default_permissions:
 * - chmod and explicit times: owner or root, else EPERM; times set to 'now':
 *   owner, root, or write permission (EACCES otherwise);
 * - chown: root may set anything; the owner may only change the group, to
 *   its own (primary) gid; anything else EPERM. Changing owner or group of a
 *   file clears its setuid bit, and its setgid bit when group-exec is set;
 * - chmod by a non-root caller outside the file's group drops setgid;
 * - truncate without a handle needs write permission (EACCES).
 * ctime is set on every change.
 *
 * Reaching the backend (write-back, journaled): a size change of a file
 * with no open handle is uploaded after the write-back delay; with a handle
 * open, after its release. Mode, owner, group and mtime travel as object
 * metadata (drivers with metadata): the file is uploaded again with its new
 * metadata the same way (the driver API cannot change metadata in place); a
 * symlink's small object is rewritten; directories keep theirs in the index
 * only (no driver stores directory metadata).
 */
export async function setattr(ctx: VfsContext, data: DataPath, ino: Ino, changes: AttrChanges, caller: Caller, fh?: Fh): Promise<NodeRow> {
  const node = requireNode(ctx, ino, 'setattr');
  const path = () => ctx.index.pathOf(ino);
  checkPermissions(node, changes, caller, fh !== undefined, path);
  const now = nowNs();
  const fields: NodeUpdate = { ctimeNs: now };
  let mode = node.mode;
  if (changes.mode !== undefined) {
    mode = modeOf(node.type, changes.mode);
    if (!isRoot(caller) && caller.gid !== (changes.gid ?? node.gid)) mode &= ~S_ISGID;
  }
  const newUid = changes.uid ?? node.uid;
  const newGid = changes.gid ?? node.gid;
  const owned = newUid !== node.uid || newGid !== node.gid;
  if (owned && node.type === 'file') {
    mode &= ~S_ISUID;
    if ((mode & constants.S_IXGRP) !== 0) mode &= ~S_ISGID;
  }
  if (mode !== node.mode) fields.mode = mode;
  if (owned) Object.assign(fields, { uid: newUid, gid: newGid });
  if (changes.atime !== undefined) fields.atimeNs = timeOf(changes.atime, now);
  if (changes.mtime !== undefined) fields.mtimeNs = timeOf(changes.mtime, now);

  const sized = changes.size !== undefined ? await resize(ctx, data, node, changes.size, fh, now) : { upload: false };
  const file = ctx.handles.file(ino);
  if (file) saveFile(ctx, file);
  ctx.index.update(ino, fields);

  const metaChanged = fields.mode !== undefined || owned || changes.mtime !== undefined;
  const mirrorMeta = metaChanged && ctx.driver.capabilities.metadata;
  if (node.type === 'file' && (mirrorMeta || sized.upload)) {
    if (mirrorMeta) noteMetaChange(ctx, ino);
    const markDirty = () => {
      if (requireNode(ctx, ino, 'setattr').state === 'clean') ctx.index.update(ino, { state: 'dirty' });
    };
    // An open file is uploaded when its handles are released; a closed one after the write-back delay.
    if (ctx.handles.file(ino)) ctx.sync.journalUpload(ino, markDirty);
    else if (ctx.index.pathsOf(ino).length > 0) ctx.sync.scheduleUpload(ino, { change: markDirty });
  } else if (node.type === 'symlink' && mirrorMeta && ctx.index.pathsOf(ino).length > 0) {
    const key = path();
    ctx.sync.record(
      () => undefined,
      () => ({ kind: 'symlink', ino, key }),
    );
  }
  return requireNode(ctx, ino, 'setattr');
}

function checkPermissions(node: NodeRow, changes: AttrChanges, caller: Caller, viaHandle: boolean, path: () => string): void {
  const deny = (code: 'EPERM' | 'EACCES', what: string) => {
    throw new FsError(code, `${what} '${path()}': not permitted for uid ${caller.uid}`, { path: path(), op: 'setattr' });
  };
  if (changes.mode !== undefined && !ownsOrRoot(caller, node)) deny('EPERM', 'chmod');
  if (!isRoot(caller)) {
    if (changes.uid !== undefined && changes.uid !== node.uid) deny('EPERM', 'chown');
    if (changes.gid !== undefined && changes.gid !== node.gid && (caller.uid !== node.uid || changes.gid !== caller.gid)) deny('EPERM', 'chgrp');
    if ((changes.uid !== undefined || changes.gid !== undefined) && caller.uid !== node.uid) deny('EPERM', 'chown');
  }
  const explicit = (t: TimeSpec | undefined) => t !== undefined && t !== 'now';
  if (explicit(changes.atime) || explicit(changes.mtime)) {
    if (!ownsOrRoot(caller, node)) deny('EPERM', 'utimens');
  } else if (changes.atime !== undefined || changes.mtime !== undefined) {
    if (!ownsOrRoot(caller, node) && !mayWrite(caller, node)) deny('EACCES', 'utimens');
  }
  if (changes.size !== undefined) {
    if (node.type === 'directory') throw new FsError('EISDIR', `truncate '${path()}': is a directory`, { path: path(), op: 'truncate' });
    if (node.type !== 'file' || !Number.isSafeInteger(changes.size) || changes.size < 0) {
      throw new FsError('EINVAL', `truncate '${path()}': cannot set size ${changes.size}`, { path: path(), op: 'truncate' });
    }
    if (!viaHandle && !mayWrite(caller, node)) deny('EACCES', 'truncate');
  }
}

/**
 * Applies a size change: through the open file when there is one (uploaded
 * after its release), else through a file held for the call (`upload`: the
 * caller schedules the upload). Truncating to the current size only updates
 * the times.
 */
async function resize(ctx: VfsContext, data: DataPath, node: NodeRow, size: number, fh: Fh | undefined, now: bigint): Promise<{ upload: boolean }> {
  const handle = fh !== undefined ? ctx.handles.get(fh) : undefined;
  const open = handle?.file ?? ctx.handles.file(node.ino);
  if (open) {
    await data.truncate(open, size);
    if (handle) handle.wrote = true;
    return { upload: false };
  }
  if (size === node.size) {
    ctx.index.update(node.ino, { mtimeNs: now });
    return { upload: ctx.driver.capabilities.metadata };
  }
  await withFile(ctx, node, async (held) => {
    await data.truncate(held, size);
    saveFile(ctx, held);
    // Durable in the cache before the upload is journaled: a crash keeps the new size.
    await held.content.syncLocal();
  });
  return { upload: true };
}

function timeOf(spec: TimeSpec, now: bigint): bigint {
  return spec === 'now' ? now : spec;
}

