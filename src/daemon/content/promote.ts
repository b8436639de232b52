import type { WorkingFile } from '../cache/types.js';
import type { Ino } from '../vfs/types.js';
import type { ContentContext } from './file-content.js';

/**
 * The small-file fast path of a commit: a file that fits in one block and
 * is held whole by its working file needs no separate block file, since the
 * working file, moved into the block store, is that block (see
 * ContentManagerOptions.promoteWorkingFile).
 */

/** True when a commit of `size` bytes may promote `working` to the file's only block. */
export function canPromote(ctx: ContentContext, working: WorkingFile | undefined, size: number): boolean {
  return (
    ctx.promoteWorkingFile !== undefined &&
    working !== undefined &&
    size > 0 &&
    size <= ctx.blockSize &&
    working.size === size &&
    working.missing(0, size).length === 0
  );
}

/**
 * After the upload: makes the working file of `ino` the block `hash` (its
 * content `data`), or puts `data` when the store did not take the file.
 * Never rejects: the content is on the backend, and a block missing from
 * the cache is fetched again when read.
 */
export async function promoteOrPut(ctx: ContentContext, ino: Ino, hash: string, data: Buffer): Promise<void> {
  try {
    if (await ctx.promoteWorkingFile!(ino, hash, data.length)) return;
  } catch (err) {
    ctx.logger.warn({ err, ino }, 'committed, but the working file could not become a block');
  }
  try {
    await ctx.blocks.put(data);
  } catch (err) {
    ctx.logger.warn({ err, ino }, 'committed, but its block could not be cached');
  }
}
