import { isFsError } from '../../core/errors.js';
import type { FileStat } from '../../drivers/types.js';
import { encodePosixMetadata } from '../meta/posix-metadata.js';
import { remoteMtime } from './commit.js';
import type { VfsContext } from './context.js';
import { rebindOpenFile } from './lifecycle.js';
import { joinKey, parentKey } from './names.js';
import { mapLimit } from './queues.js';
import { retryRequest } from './request-retry.js';
import type { JournalOp } from '../writeback/types.js';
import type { Ino } from './types.js';

/**
 * The backend half of namespace changes: what each journal operation does
 * on the backend (runOp) and which listings it disturbs (opMarks). The
 * write-back queue (sync.ts) decides when they run; these functions only do
 * the work, idempotently, so a replay after a crash is harmless.
 */

/** Parallel backend requests of a directory rename. */
const RENAME_CONCURRENCY = 8;

/** A namespace operation of the journal (every kind but 'upload'). */
export type NamespaceOp = Exclude<JournalOp, { kind: 'upload' }>;

/** Directory keys whose listings `op` changes, and subtrees it changes wholesale (for the MutationTracker). */
export function opMarks(op: NamespaceOp): { dirs: string[]; subtrees: string[] } {
  switch (op.kind) {
    case 'mkdir':
    case 'symlink':
    case 'unlink':
      return { dirs: [parentKey(op.key)], subtrees: [] };
    case 'rmdir':
      return { dirs: [parentKey(op.key)], subtrees: [op.key] };
    case 'link':
      return { dirs: [parentKey(op.to)], subtrees: [] };
    case 'rename-file':
      return { dirs: [parentKey(op.from), parentKey(op.to)], subtrees: [] };
    case 'rename-dir':
      return { dirs: [parentKey(op.from), parentKey(op.to)], subtrees: [op.from, op.to] };
  }
}

/**
 * Does `op` on the backend. Resolves to the keys of objects a directory
 * rename moved without the index knowing them (to be listed), else [].
 * `signal` (the sync stopping) ends a rename's request retries early.
 */
export async function runOp(ctx: VfsContext, op: NamespaceOp, signal?: AbortSignal): Promise<string[]> {
  switch (op.kind) {
    case 'mkdir':
      await ctx.driver.createDirectory(op.key);
      if (ctx.index.get(op.ino)?.state === 'new') ctx.index.update(op.ino, { state: 'clean', remote: { size: 0, mtimeMs: Date.now() } });
      return [];
    case 'symlink':
      await writeSymlink(ctx, op.ino, op.key);
      return [];
    case 'unlink':
      await ctx.driver.delete(op.key);
      return [];
    case 'rmdir':
      await ctx.driver.deleteDirectory(op.key);
      return [];
    case 'link':
      if (ctx.index.get(op.ino)?.remote) await ctx.driver.copy(op.from, op.to);
      return [];
    case 'rename-file':
      await moveObject(ctx, op.ino, op.from, op.to, op.replaced, signal);
      return [];
    case 'rename-dir':
      return moveDirectory(ctx, op, signal);
  }
}

/**
 * Stores a symlink as a small object whose content is its target, with
 * metadata `storaged-type: symlink` and its attributes (drivers with
 * metadata; elsewhere it is a plain file to other tools), then records the
 * remote version. A symlink gone from the index meanwhile is not written.
 */
async function writeSymlink(ctx: VfsContext, ino: Ino, key: string): Promise<void> {
  const node = ctx.index.get(ino);
  if (!node || node.target === undefined || node.nlink === 0) return;
  const options = ctx.driver.capabilities.metadata ? { metadata: encodePosixMetadata(node) } : {};
  const result = await ctx.driver.write(key, Buffer.from(node.target, 'utf8'), { ...options, mimeType: 'text/plain' });
  if (ctx.closed || !ctx.index.get(ino)) return;
  ctx.index.update(ino, {
    state: 'clean',
    remote: { ...(result.etag !== undefined ? { etag: result.etag } : {}), size: result.size, mtimeMs: await remoteMtime(ctx, key, result.etag) },
  });
}

/**
 * The steps each directory rename has done (`dir:<rel>` markers made,
 * `file:<ino>` files moved), kept across its retries in this process: a
 * retry after one failed request among hundreds goes on where it stopped.
 * (A replay after a restart redoes them; every step is idempotent.)
 */
const renameSteps = new WeakMap<NamespaceOp, Set<string>>();

/**
 * Moves a renamed directory: creates the new markers, moves every file the
 * index knows below it (each on its own inode queue, behind its uploads),
 * then sweeps what the backend still has under the old prefix (entries of
 * never-listed subdirectories, objects written by other tools) and deletes
 * the old prefix. Resolves to the new keys of the swept objects.
 */
async function moveDirectory(ctx: VfsContext, op: Extract<NamespaceOp, { kind: 'rename-dir' }>, signal?: AbortSignal): Promise<string[]> {
  const { from, to } = op;
  const done = renameSteps.get(op) ?? new Set<string>();
  renameSteps.set(op, done);
  const once = async (stepId: string, run: () => Promise<void>) => {
    if (done.has(stepId)) return;
    await run();
    done.add(stepId);
  };
  await once('dir:', () => retryRequest(() => ctx.driver.createDirectory(to), signal));
  const tree = await walkSubtree(ctx, op.ino);
  await mapLimit(tree.directories, RENAME_CONCURRENCY, (rel) =>
    once(`dir:${rel}`, () => retryRequest(() => ctx.driver.createDirectory(joinKey(to, rel)), signal)),
  );
  await mapLimit(tree.files, RENAME_CONCURRENCY, (file) =>
    once(`file:${file.ino}`, () =>
      ctx.remote.run(file.ino, () => moveObject(ctx, file.ino, joinKey(from, file.rel), joinKey(to, file.rel), false, signal)),
    ),
  );
  const swept = await sweep(ctx, from, to, signal);
  await retryRequest(() => ctx.driver.deleteDirectory(from), signal);
  return swept;
}

async function moveObject(ctx: VfsContext, ino: Ino, from: string, to: string, replaced: boolean, signal?: AbortSignal): Promise<void> {
  const node = ctx.index.get(ino);
  if (node !== undefined && node.remote === undefined) {
    // Never uploaded: it lands at its new key on upload; the replaced target's object must not linger there.
    if (replaced) await retryRequest(() => ctx.driver.delete(to), signal);
    return;
  }
  if (node?.remote?.etag !== undefined && (await supersededAtTarget(ctx, node.remote.etag, from, to, signal))) {
    // An upload that ran after the rename was recorded already put the current version at `to`
    // (or a replay finds the move done): moving `from` (an older version) there would undo it.
    await retryRequest(() => ctx.driver.delete(from), signal);
    return;
  }
  try {
    // A retried move whose first try copied and deleted before its answer was lost finds no `from`: ENOENT below.
    await retryRequest(() => ctx.driver.move(from, to), signal);
  } catch (err) {
    // Moved already (a replay after a crash) or gone from the backend: either way `to` is left alone.
    if (!isFsError(err, 'ENOENT')) throw err;
    ctx.logger.debug({ from, to }, 'rename: no object to move');
    return;
  }
  await recordMovedVersion(ctx, ino, to, signal);
  // An open file reads and commits from the new key from now on.
  await rebindOpenFile(ctx, ino, to).catch((err: unknown) => ctx.logger.warn({ err, ino, key: to }, 'rename: open file not rebound'));
}

/**
 * True when `from` must not be moved because the version the index holds
 * (`etag`) is at `to` already while `from` has another. Asks about `from`
 * first: usually it holds that version (one request answers), and a missing
 * key costs object stores several requests.
 */
async function supersededAtTarget(ctx: VfsContext, etag: string, from: string, to: string, signal?: AbortSignal): Promise<boolean> {
  const source = await retryRequest(() => versionAt(ctx, from), signal);
  if (source?.etag === etag) return false;
  return (await retryRequest(() => versionAt(ctx, to), signal))?.etag === etag;
}

/**
 * A move may give the object a new version token (backends that copy and
 * delete): the index learns the one it has now, so the next upload's
 * conflict check (conflicts.ts) recognises our own object.
 */
async function recordMovedVersion(ctx: VfsContext, ino: Ino, key: string, signal?: AbortSignal): Promise<void> {
  const moved = await retryRequest(() => versionAt(ctx, key), signal);
  const node = ctx.index.get(ino);
  if (moved === undefined || node?.remote === undefined || moved.size !== node.remote.size || ctx.closed) return;
  if (moved.etag === node.remote.etag) return;
  ctx.index.update(ino, { remote: { ...(moved.etag !== undefined ? { etag: moved.etag } : {}), size: moved.size, mtimeMs: moved.lastModified.getTime() } });
}

/** The object at `key` (its version token, size and time), or undefined when there is none. */
async function versionAt(ctx: VfsContext, key: string): Promise<FileStat | undefined> {
  try {
    return await ctx.driver.stat(key);
  } catch (err) {
    if (isFsError(err, 'ENOENT')) return undefined;
    throw err;
  }
}

/** Moves every file still under `from` on the backend to the same place under `to`; returns their new keys. */
async function sweep(ctx: VfsContext, from: string, to: string, signal?: AbortSignal): Promise<string[]> {
  const moved: string[] = [];
  let cursor: string | undefined;
  do {
    const page = await retryRequest(() => ctx.driver.list(from, { recursive: true, ...(cursor !== undefined ? { cursor } : {}) }), signal);
    const files = page.entries.filter((entry) => entry.type === 'file');
    await mapLimit(files, RENAME_CONCURRENCY, async (entry) => {
      const rel = entry.path.slice(from.length + 1);
      ctx.logger.debug({ from: entry.path, to: joinKey(to, rel) }, 'rename: moving an object the index did not know');
      await retryRequest(() => ctx.driver.move(entry.path, joinKey(to, rel)), signal).then(
        () => void moved.push(joinKey(to, rel)),
        (err: unknown) => {
          if (!isFsError(err, 'ENOENT')) throw err;
        },
      );
    });
    cursor = page.cursor;
  } while (cursor !== undefined);
  return moved;
}

/** Files (with every name) and directories below a directory, as paths relative to it; yields to the event loop per directory. */
async function walkSubtree(ctx: VfsContext, root: Ino): Promise<{ directories: string[]; files: Array<{ ino: Ino; rel: string }> }> {
  const directories: string[] = [];
  const files: Array<{ ino: Ino; rel: string }> = [];
  const pending: Array<{ ino: Ino; rel: string }> = [{ ino: root, rel: '' }];
  while (pending.length > 0) {
    const dir = pending.pop()!;
    for (const { name, node } of ctx.index.children(dir.ino)) {
      const rel = joinKey(dir.rel, name);
      if (node.type === 'directory') {
        directories.push(rel);
        pending.push({ ino: node.ino, rel });
      } else {
        files.push({ ino: node.ino, rel });
      }
    }
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  return { directories, files };
}
