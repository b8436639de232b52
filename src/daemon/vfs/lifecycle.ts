import type { CleanSource } from '../content/types.js';
import type { NodeRow } from '../meta/types.js';
import type { VfsContext } from './context.js';
import type { OpenFile } from './handles.js';
import type { Ino } from './types.js';

/** Where a node's clean content is on the backend (undefined for a file never uploaded). */
export function cleanSource(ctx: VfsContext, node: NodeRow): CleanSource | undefined {
  if (!node.remote) return undefined;
  return { key: ctx.index.pathOf(node.ino), ...(node.remote.etag !== undefined ? { etag: node.remote.etag } : {}), size: node.remote.size };
}

/**
 * After the backend object of a file moved to `key` (rename): when the file
 * is open, its content is rebound to `key`, so that blocks not cached yet
 * and the clean ranges of a commit come from where the object is now.
 */
export async function rebindOpenFile(ctx: VfsContext, ino: Ino, key: string): Promise<void> {
  if (!ctx.handles.file(ino)) return;
  const node = ctx.index.get(ino);
  if (node?.type !== 'file' || !node.remote) return;
  // open() on content already open rebinds it; release() gives the extra use back without dropping anything.
  await ctx.content.open(ino, { key, ...(node.remote.etag !== undefined ? { etag: node.remote.etag } : {}), size: node.remote.size });
  ctx.content.release(ino);
}

/** Takes one use of the OpenFile of a regular file, opening its content when nobody uses it yet. */
export function acquireFile(ctx: VfsContext, node: NodeRow): Promise<OpenFile> {
  return ctx.handles.acquire(node.ino, () => ctx.content.open(node.ino, cleanSource(ctx, node)));
}

/**
 * Gives back one use. The last user releases the content; when the file has
 * no name left (unlinked while open), its local data and its row go too.
 */
export async function releaseFile(ctx: VfsContext, file: OpenFile): Promise<void> {
  if (!ctx.handles.drop(file)) return;
  await forgetIfOrphan(ctx, file.ino, true);
}

/**
 * After a file lost a name: when it has no name left (or no row) and nobody
 * uses it, drops its cached data and its index row. `hadContent` releases
 * the in-memory content object too.
 */
export async function forgetIfOrphan(ctx: VfsContext, ino: Ino, hadContent = false): Promise<void> {
  if (ctx.handles.file(ino)) return;
  // No row at all: a refresh removed the file while it was open (the remote deletion wins).
  const node = ctx.index.get(ino);
  const exists = node !== undefined;
  // The link count of a file or symlink is its number of names.
  if (!exists || node.nlink === 0) {
    ctx.sync.dropUpload(ino);
    await ctx.content.discard(ino);
    if (exists) ctx.index.forget(ino);
    ctx.metaChanges.delete(ino);
  }
  if (hadContent) ctx.content.release(ino);
}

/** Runs `task` with the OpenFile of a node held (setattr without a handle). */
export async function withFile<T>(ctx: VfsContext, node: NodeRow, task: (file: OpenFile) => Promise<T>): Promise<T> {
  const file = await acquireFile(ctx, node);
  try {
    return await task(file);
  } finally {
    await releaseFile(ctx, file);
  }
}
