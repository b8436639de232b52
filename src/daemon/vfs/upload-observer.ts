import type { NodeRow } from '../meta/types.js';
import type { VfsContext } from './context.js';
import type { ObservedFile } from './types.js';

/**
 * The VFS's side of an UploadObserver (types.ts): what it is told and
 * asked, built from the index and the open file, with its failures logged
 * and never passed on (a drop folder must not break a close or an upload).
 */

/** `node` as the observer sees it (the open file's size and times when it is open). */
function observed(ctx: VfsContext, node: NodeRow): ObservedFile {
  const open = ctx.handles.file(node.ino);
  const mtimeNs = open?.overlay?.mtimeNs ?? node.mtimeNs;
  return { ino: node.ino, path: ctx.index.pathOf(node.ino), size: open ? open.content.size() : node.size, mtimeMs: Number(mtimeNs / 1_000_000n) };
}

/** Tells the observer that `ino` was closed with changes (its upload is journaled). */
export function reportClosed(ctx: VfsContext, ino: number): void {
  const closed = ctx.uploads?.closed;
  if (closed === undefined) return;
  try {
    const node = ctx.index.get(ino);
    if (node && node.nlink > 0 && node.type === 'file') closed.call(ctx.uploads, observed(ctx, node));
  } catch (err) {
    ctx.logger.warn({ err, ino }, 'upload observer failed on a close (ignored)');
  }
}

/** True when the observer holds the upload of `node` back now. */
export function uploadHeld(ctx: VfsContext, node: NodeRow): boolean {
  const holds = ctx.uploads?.holds;
  if (holds === undefined) return false;
  try {
    return holds.call(ctx.uploads, observed(ctx, node));
  } catch (err) {
    ctx.logger.warn({ err, ino: node.ino }, 'upload observer failed on an upload (not held)');
    return false;
  }
}
