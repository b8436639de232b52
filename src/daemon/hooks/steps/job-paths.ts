import { posix } from 'node:path';
import type { StepContext } from '../types.js';

/**
 * Where the job's file is in its folder now: the job's path, or the path a
 * conversion earlier in the same job gave it (a finished step whose detail
 * has `convertedTo`). In-place steps replace this file.
 */
export function currentPath(ctx: Pick<StepContext, 'job'>): string {
  let path = ctx.job.path;
  for (const result of ctx.job.results) {
    const moved = result.detail?.convertedTo;
    if (typeof moved === 'string') path = moved;
  }
  return path;
}

/** 'a/b/photo.jpg' -> 'a/b/photo'; a name without extension (or a dotfile) is kept whole. */
export function withoutExtension(path: string): string {
  const slash = path.lastIndexOf('/');
  const dot = path.lastIndexOf('.');
  return dot > slash + 1 ? path.slice(0, dot) : path;
}

/** A path inside the watched folder as a path from its disk's root ('' folder = the whole disk or a local folder). */
export function inFolder(folderPath: string | undefined, path: string): string {
  return folderPath ? posix.join(folderPath, path) : path;
}
