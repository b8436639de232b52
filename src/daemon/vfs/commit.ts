import type { Committed } from '../content/types.js';
import type { NodeUpdate } from '../meta/types.js';
import { encodePosixMetadata } from '../meta/posix-metadata.js';
import { divertOnConflict, ORIGIN_KEY, originOf } from './conflicts.js';
import type { VfsContext } from './context.js';
import type { OpenFile } from './handles.js';
import { parentKey } from './names.js';

/**
 * Writes an open file's size, write times and dirty state to the index (done
 * on flush, fsync, release and commit, not on every write).
 */
export function saveFile(ctx: VfsContext, file: OpenFile): void {
  if (!file.unsaved && !file.overlay) return;
  const node = ctx.index.get(file.ino);
  if (!node) return;
  const fields: NodeUpdate = { size: file.content.size() };
  if (file.overlay) {
    fields.mtimeNs = file.overlay.mtimeNs;
    fields.ctimeNs = file.overlay.ctimeNs;
  }
  if (file.content.isDirty() && node.state === 'clean') fields.state = 'dirty';
  ctx.index.update(file.ino, fields);
  file.overlay = undefined;
  file.unsaved = false;
}

/**
 * Records in the index that open files with dirty content have local
 * changes (saveFile, or state 'dirty' when nothing else is unsaved): for a
 * directory refresh, which keeps nodes with local changes and takes clean
 * ones for the backend's (a deleted one would lose its name and, on
 * release, its unsaved data).
 */
export function saveOpenFiles(ctx: VfsContext): void {
  for (const file of ctx.handles.openFiles()) {
    if (!file.content.isDirty()) continue;
    // saveFile marks a clean node with dirty content 'dirty'; with nothing unsaved, that is done here.
    if (file.unsaved || file.overlay) saveFile(ctx, file);
    else if (ctx.index.get(file.ino)?.state === 'clean') ctx.index.update(file.ino, { state: 'dirty' });
  }
}

/**
 * True when the file has a name and something the backend lacks (content,
 * attributes, or it was never uploaded). `node`: its row when the caller
 * just read it.
 */
export function needsCommit(ctx: VfsContext, file: OpenFile, node = ctx.index.get(file.ino)): boolean {
  // A file's link count is its number of names.
  if (!node || node.nlink === 0) return false;
  return file.content.isDirty() || node.state !== 'clean' || ctx.metaChanges.has(file.ino);
}

/**
 * Uploads the file's whole content to its backend key with its POSIX
 * attributes as metadata (drivers with metadata), copies it to the keys of
 * its other hard links, and records the new remote version: state 'clean'
 * unless attributes changed during the upload. The key is taken now and the
 * upload queued behind earlier backend operations of the inode, so it lands
 * where the index said the file was when it was asked for (a later rename's
 * move then carries it along). Writes to the file wait while it uploads.
 * `signal` aborts the upload (the backend keeps its previous version).
 */
export async function commitFile(ctx: VfsContext, file: OpenFile, signal?: AbortSignal): Promise<void> {
  saveFile(ctx, file);
  let paths = ctx.index.pathsOf(file.ino);
  let [key, ...others] = paths;
  if (key === undefined) return;
  await ctx.remote.run(file.ino, () =>
    file.gate.withExclusive(async () => {
      // Another writer changed the object since we last saw it: ours goes to a conflict name (conflicts.ts).
      const target = needsCommit(ctx, file) ? await divertOnConflict(ctx, file.ino, key!, (length, algorithm) => file.content.localHash(length, algorithm)) : key!;
      if (target !== key) [key, ...others] = paths = ctx.index.pathsOf(file.ino);
      if (key === undefined) return;
      // Attributes changed during an upload (a chmod racing the release of a
      // just-written file) are uploaded at once by another round, so nothing is
      // left for a release that has already happened.
      for (let round = 0; round < MAX_COMMIT_ROUNDS; round++) {
        signal?.throwIfAborted();
        if (!(await commitOnce(ctx, file, key, others, paths, signal))) return;
      }
    }),
  );
}

/** Attribute changes racing an upload are chased this many times before the node is left dirty. */
const MAX_COMMIT_ROUNDS = 4;

/** One upload round of commitFile; true when attributes changed meanwhile and another round is due. */
async function commitOnce(ctx: VfsContext, file: OpenFile, key: string, others: string[], paths: string[], signal?: AbortSignal): Promise<boolean> {
  saveFile(ctx, file);
  const node = ctx.index.get(file.ino);
  // Unlinked meanwhile, or committed by a call queued earlier: nothing to do.
  if (!node || !needsCommit(ctx, file, node)) return false;
  const changesBefore = ctx.metaChanges.get(file.ino) ?? 0;
  const metadata = ctx.driver.capabilities.metadata ? { ...encodePosixMetadata(node), [ORIGIN_KEY]: originOf(ctx, file.ino) } : {};
  const changed = () => (ctx.metaChanges.get(file.ino) ?? 0) !== changesBefore;
  // The node learns its new version in the transaction that records the upload (see CommitOptions.record).
  const record = (done: Committed) => {
    if (ctx.index.get(file.ino)) ctx.index.update(file.ino, versionFields(done, changed()));
  };
  const committed = await ctx.tracker.around(paths.map(parentKey), [], async () => {
    // Forced: an attribute-only change uploads the clean content again, with the new metadata.
    const result = await file.content.commit(key, metadata, { force: true, record, ...(signal ? { signal } : {}) });
    for (const other of others) {
      signal?.throwIfAborted();
      await ctx.driver.copy(key, other);
    }
    return result;
  });
  const changedMeanwhile = changed();
  if (!changedMeanwhile) ctx.metaChanges.delete(file.ino);
  if (!ctx.index.get(file.ino)) return false;
  ctx.index.update(file.ino, versionFields(committed, changedMeanwhile));
  ctx.logger.debug({ ino: file.ino, key, size: committed.size }, 'committed file');
  return changedMeanwhile;
}

/** The index fields of a node whose content was just committed (`dirty` when attributes changed meanwhile). */
function versionFields(committed: Committed, dirty: boolean): NodeUpdate {
  return {
    state: dirty ? 'dirty' : 'clean',
    size: committed.size,
    contentHash: committed.contentHash,
    remote: { ...(committed.etag !== undefined ? { etag: committed.etag } : {}), size: committed.size, mtimeMs: committed.mtimeMs },
  };
}

/**
 * The remote version time of an object just written: the backend's
 * lastModified when the write gave no etag (versions then compare by size
 * and time), else the local clock (etags decide).
 */
export async function remoteMtime(ctx: VfsContext, key: string, etag: string | undefined): Promise<number> {
  if (etag !== undefined) return Date.now();
  try {
    const ms = (await ctx.driver.stat(key)).lastModified.getTime();
    if (ms > 0) return ms;
  } catch (err) {
    ctx.logger.debug({ err, key }, 'stat after an upload failed: using the local clock');
  }
  return Date.now();
}
