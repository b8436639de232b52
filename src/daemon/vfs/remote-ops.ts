import { isFsError } from '../../core/errors.js';
import { encodePosixMetadata } from '../meta/posix-metadata.js';
import { remoteMtime } from './commit.js';
import type { VfsContext } from './context.js';
import { rebindOpenFile } from './lifecycle.js';
import { joinKey, parentKey } from './names.js';
import { mapLimit } from './queues.js';
import type { Ino } from './types.js';

/**
 * Mirrors namespace changes of the index onto the backend. Each operation is
 * queued on the inode's backend queue (so it runs after earlier uploads and
 * moves of that inode) and marked in the mutation tracker (so a concurrent
 * directory refresh does not reconcile a half-changed listing). Callers
 * await them: when a namespace call returns, the backend agrees.
 */

/** Parallel backend requests of a directory rename. */
const RENAME_CONCURRENCY = 8;

/** Creates the directory marker of a new directory (drivers keep no directory metadata). */
export function mirrorMkdir(ctx: VfsContext, ino: Ino, key: string): Promise<void> {
  return ctx.remote.run(ino, () => ctx.tracker.around([parentKey(key)], [], () => ctx.driver.createDirectory(key)));
}

/**
 * Stores a symlink as a small object whose content is its target, with
 * metadata `storaged-type: symlink` and its attributes (drivers with
 * metadata; elsewhere it is a plain file to other tools), then records the
 * remote version.
 */
export function mirrorSymlink(ctx: VfsContext, ino: Ino, key: string): Promise<void> {
  return ctx.remote.run(ino, () =>
    ctx.tracker.around([parentKey(key)], [], async () => {
      const node = ctx.index.get(ino);
      if (!node || node.target === undefined) return;
      const options = ctx.driver.capabilities.metadata ? { metadata: encodePosixMetadata(node) } : {};
      const result = await ctx.driver.write(key, Buffer.from(node.target, 'utf8'), { ...options, mimeType: 'text/plain' });
      if (!ctx.index.get(ino)) return;
      ctx.index.update(ino, {
        state: 'clean',
        remote: { ...(result.etag !== undefined ? { etag: result.etag } : {}), size: result.size, mtimeMs: await remoteMtime(ctx, key, result.etag) },
      });
    }),
  );
}

/** Deletes the object of one name of a file or symlink (a missing object is fine). */
export function mirrorUnlink(ctx: VfsContext, ino: Ino, key: string): Promise<void> {
  return ctx.remote.run(ino, () => ctx.tracker.around([parentKey(key)], [], () => ctx.driver.delete(key)));
}

/** Deletes a directory (its marker and anything the backend still has below it). */
export function mirrorRmdir(ctx: VfsContext, ino: Ino, key: string): Promise<void> {
  return ctx.remote.run(ino, () => ctx.tracker.around([parentKey(key)], [key], () => ctx.driver.deleteDirectory(key)));
}

/** A new hard link: a copy of the object under the new name (a file never uploaded gets all its names at commit). */
export function mirrorLink(ctx: VfsContext, ino: Ino, from: string, to: string): Promise<void> {
  return ctx.remote.run(ino, () =>
    ctx.tracker.around([parentKey(to)], [], async () => {
      const node = ctx.index.get(ino);
      if (!node?.remote) return;
      await ctx.driver.copy(from, to);
    }),
  );
}

/**
 * Moves the object of a renamed file or symlink. A node never uploaded has
 * no object: it lands at its new key on commit, and a replaced target's
 * object is deleted now so that the old content does not linger there.
 */
export function mirrorRenameFile(ctx: VfsContext, ino: Ino, from: string, to: string, replaced: boolean): Promise<void> {
  return ctx.remote.run(ino, () => ctx.tracker.around([parentKey(from), parentKey(to)], [], () => moveObject(ctx, ino, from, to, replaced)));
}

/**
 * Moves a renamed directory: creates the new markers, moves every file the
 * index knows below it (each on its own inode queue), then sweeps what the
 * backend still has under the old prefix (entries of never-listed
 * subdirectories, objects written by other tools) and deletes the old prefix.
 * Resolves to the new keys of the swept objects (the index did not know them).
 */
export function mirrorRenameDirectory(ctx: VfsContext, ino: Ino, from: string, to: string): Promise<string[]> {
  return ctx.remote.run(ino, () =>
    ctx.tracker.around([parentKey(from), parentKey(to)], [from, to], async () => {
      await ctx.driver.createDirectory(to);
      const tree = await walkSubtree(ctx, ino);
      await mapLimit(tree.directories, RENAME_CONCURRENCY, (rel) => ctx.driver.createDirectory(joinKey(to, rel)));
      await mapLimit(tree.files, RENAME_CONCURRENCY, (file) =>
        ctx.remote.run(file.ino, () => moveObject(ctx, file.ino, joinKey(from, file.rel), joinKey(to, file.rel), false)),
      );
      const swept = await sweep(ctx, from, to);
      await ctx.driver.deleteDirectory(from);
      return swept;
    }),
  );
}

async function moveObject(ctx: VfsContext, ino: Ino, from: string, to: string, replaced: boolean): Promise<void> {
  const node = ctx.index.get(ino);
  const neverUploaded = node !== undefined && node.remote === undefined;
  if (!neverUploaded) {
    let moved = false;
    try {
      await ctx.driver.move(from, to);
      moved = true;
    } catch (err) {
      if (!isFsError(err, 'ENOENT')) throw err;
      ctx.logger.debug({ from, to }, 'rename: no object to move');
    }
    if (moved) {
      // An open file reads and commits from the new key from now on.
      await rebindOpenFile(ctx, ino, to).catch((err: unknown) => ctx.logger.warn({ err, ino, key: to }, 'rename: open file not rebound'));
      return;
    }
  }
  if (replaced) await ctx.driver.delete(to);
}

/** Moves every file still under `from` on the backend to the same place under `to`; returns their new keys. */
async function sweep(ctx: VfsContext, from: string, to: string): Promise<string[]> {
  const moved: string[] = [];
  let cursor: string | undefined;
  do {
    const page = await ctx.driver.list(from, { recursive: true, ...(cursor !== undefined ? { cursor } : {}) });
    const files = page.entries.filter((entry) => entry.type === 'file');
    await mapLimit(files, RENAME_CONCURRENCY, async (entry) => {
      const rel = entry.path.slice(from.length + 1);
      ctx.logger.debug({ from: entry.path, to: joinKey(to, rel) }, 'rename: moving an object the index did not know');
      await ctx.driver.move(entry.path, joinKey(to, rel)).then(
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
