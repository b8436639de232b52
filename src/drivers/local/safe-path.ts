import { lstat, mkdir, readlink, realpath, type FileHandle } from 'node:fs/promises';
import { join, sep } from 'node:path';
import { FsError } from '../../core/errors.js';

/** Whether the last path segment is followed when it is a symlink. */
export type FinalLink = 'follow' | 'nofollow';

/**
 * Symlink-safe resolution of keys below one root folder.
 *
 * Every symlink on a key's path is resolved with realpath and must land inside
 * realpath(root); one that leads out of the root makes the operation fail with
 * EACCES, a dangling one with ENOENT. Symlinks that stay inside the root are
 * followed. The results are real paths (no symlinks left in them), so callers
 * open them directly. What remains is a race with a process that swaps a
 * directory for a symlink between the check and the use; writers narrow it by
 * re-checking the parent after creating it and by creating files with O_EXCL.
 */
export class SafeRoot {
  private realRootPath: string | undefined;

  /** `root` must be absolute. */
  constructor(readonly root: string) {}

  /** realpath of the root; ENOENT (with `key` in the message) while the root does not exist. */
  async realRoot(key = ''): Promise<string> {
    if (this.realRootPath !== undefined) return this.realRootPath;
    try {
      this.realRootPath = await realpath(this.root);
    } catch (err) {
      if (codeOf(err) === 'ENOENT') {
        throw new FsError('ENOENT', `'${key}': the disk root folder does not exist yet`, { path: key, cause: err });
      }
      throw err;
    }
    return this.realRootPath;
  }

  /** realpath of the root, creating the root folder first when it is missing. */
  async ensureRoot(dirMode: number): Promise<string> {
    try {
      return await this.realRoot();
    } catch (err) {
      if (codeOf(err) !== 'ENOENT') throw err;
      await mkdir(this.root, { recursive: true, mode: dirMode });
      return this.realRoot();
    }
  }

  /** True when the real path `real` is the root or lies below it. */
  isInside(real: string, realRoot: string): boolean {
    if (real === realRoot) return true;
    const prefix = realRoot.endsWith(sep) ? realRoot : realRoot + sep;
    return real.startsWith(prefix);
  }

  /**
   * The absolute path to use for `key` ('' is the root). With 'follow' the
   * whole path is resolved; with 'nofollow' only the parent is, so the last
   * segment names a symlink itself (to delete or replace it). Parts of the
   * path that do not exist yet are appended as given. Throws EACCES when a
   * symlink leads out of the root, ENOENT for a dangling symlink on the way,
   * ENOTDIR when a file sits where a directory is needed, ENOENT when the root
   * itself is missing.
   */
  async resolve(key: string, finalLink: FinalLink): Promise<string> {
    const realRoot = await this.realRoot(key);
    if (key === '') return realRoot;
    const segments = key.split('/');
    if (finalLink === 'follow') return this.resolveSegments(realRoot, segments, key);
    const last = segments.pop() as string;
    const parent = await this.resolveSegments(realRoot, segments, key);
    return join(parent, last);
  }

  /**
   * Checks that the existing real path `abs` (just created or opened) is still
   * inside the root; EACCES otherwise.
   */
  async assertInside(abs: string, key: string): Promise<string> {
    const realRoot = await this.realRoot(key);
    const real = await realpath(abs);
    if (!this.isInside(real, realRoot)) throw escapeError(key);
    return real;
  }

  /**
   * Checks that an opened handle's file lies inside the root, by asking the
   * kernel where the descriptor points (/proc/self/fd). This closes the race
   * of a directory swapped for a symlink between resolve() and open(). Where
   * /proc is not mounted the check is skipped (resolve() already checked).
   */
  async assertHandleInside(handle: FileHandle, key: string): Promise<void> {
    let target: string;
    try {
      target = await readlink(`/proc/self/fd/${handle.fd}`);
    } catch {
      return;
    }
    if (!this.isInside(target, await this.realRoot(key))) throw escapeError(key);
  }

  private async resolveSegments(realRoot: string, segments: string[], key: string): Promise<string> {
    if (segments.length === 0) return realRoot;
    // A concurrent writer may create the missing part while we look: then look again.
    for (let attempt = 0; ; attempt++) {
      const resolved = await this.resolveOnce(realRoot, segments, key);
      if (resolved !== RACED) return resolved;
      if (attempt >= 5) throw new FsError('EAGAIN', `'${key}': the path keeps changing while it is resolved`, { path: key });
    }
  }

  private async resolveOnce(realRoot: string, segments: string[], key: string): Promise<string | typeof RACED> {
    try {
      const real = await realpath(join(realRoot, ...segments));
      if (!this.isInside(real, realRoot)) throw escapeError(key);
      return real;
    } catch (err) {
      if (codeOf(err) !== 'ENOENT') throw err;
    }
    // Part of the path is missing: find the deepest ancestor that exists.
    for (let depth = segments.length - 1; depth >= 0; depth--) {
      let ancestor: string;
      try {
        ancestor = await realpath(join(realRoot, ...segments.slice(0, depth)));
      } catch (err) {
        if (codeOf(err) === 'ENOENT') continue;
        throw err;
      }
      if (!this.isInside(ancestor, realRoot)) throw escapeError(key);
      const next = join(ancestor, segments[depth] as string);
      const kind = await danglingOrRaced(next);
      if (kind === 'dangling') {
        throw new FsError('ENOENT', `'${key}': a symlink on the path points to nothing`, { path: key });
      }
      if (kind === 'raced') return RACED;
      return join(ancestor, ...segments.slice(depth));
    }
    throw new FsError('ENOENT', `'${key}': the disk root folder does not exist`, { path: key });
  }
}

/** Marks a resolution that saw the tree change under it. */
const RACED = Symbol('raced');

/**
 * What sits at `path`, whose realpath just failed with ENOENT: 'missing'
 * (nothing), 'dangling' (a symlink to nothing) or 'raced' (something that
 * resolves now: created meanwhile).
 */
async function danglingOrRaced(path: string): Promise<'missing' | 'dangling' | 'raced'> {
  try {
    const stats = await lstat(path);
    if (!stats.isSymbolicLink()) return 'raced';
  } catch {
    return 'missing';
  }
  try {
    await realpath(path);
    return 'raced';
  } catch (err) {
    if (codeOf(err) === 'ENOENT') return 'dangling';
    throw err;
  }
}

/** The EACCES error for a key whose path leaves the root through a symlink. */
export function escapeError(key: string): FsError {
  return new FsError('EACCES', `'${key}' leads out of the disk root through a symlink`, { path: key });
}

/** The `code` of a Node system error, if any. */
export function codeOf(err: unknown): string | undefined {
  const code = err && typeof err === 'object' ? (err as { code?: unknown }).code : undefined;
  return typeof code === 'string' ? code : undefined;
}
