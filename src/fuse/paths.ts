import { FsError } from '../core/errors.js';
import { ROOT_INO, type Ino, type Vfs } from '../daemon/vfs/types.js';

/** Options of a PathResolver. */
export interface PathResolverOptions {
  /** How long a cached directory stays trusted, in ms (the mount's entry timeout); 0 disables the cache. */
  ttlMs: number;
  /** Most directories kept (oldest dropped first). */
  maxEntries?: number;
}

interface CachedDir {
  ino: Ino;
  expires: number;
}

/** A path split into the inode of its parent directory and its last component. */
export interface ParentAndName {
  parent: Ino;
  name: string;
}

/**
 * Turns the absolute paths fuse-native gives ('/', '/a/b') into inodes by
 * successive vfs.lookup calls from ROOT_INO.
 *
 * Only directories are cached (path -> ino), never files, and a cached
 * directory is trusted for `ttlMs` at most. Local changes that move or
 * remove a directory call invalidate(path), which drops it and everything
 * under it and bumps a generation counter: a walk that started before an
 * invalidation never stores what it found, so a rename racing a lookup cannot
 * plant a stale entry. Changes made on the backend by other hosts can only
 * surface through the VFS, and the TTL bounds them exactly as the kernel's
 * own entry timeout does (the kernel's dentries are no fresher).
 */
export class PathResolver {
  readonly #vfs: Pick<Vfs, 'lookup'>;
  readonly #ttlMs: number;
  readonly #maxEntries: number;
  readonly #dirs = new Map<string, CachedDir>();
  #generation = 0;

  constructor(vfs: Pick<Vfs, 'lookup'>, options: PathResolverOptions) {
    this.#vfs = vfs;
    this.#ttlMs = options.ttlMs;
    this.#maxEntries = options.maxEntries ?? 10_000;
  }

  /** The inode at `path`; rejects with the VFS's FsError (ENOENT...) when a component is missing. */
  async resolve(path: string): Promise<Ino> {
    return this.#walk(splitPath(path));
  }

  /** The parent directory's inode and the last component of `path` (EINVAL for '/'). */
  async resolveParent(path: string): Promise<ParentAndName> {
    const parts = splitPath(path);
    const name = parts.pop();
    if (name === undefined) throw new FsError('EINVAL', `'${path}' has no parent`, { path });
    return { parent: await this.resolve(joinPath(parts)), name };
  }

  /** Forgets `path` and every cached path below it; call after rmdir, rename (source and target) and unlink. */
  invalidate(path: string): void {
    this.#generation++;
    const prefix = path === '/' ? '/' : `${path}/`;
    for (const key of this.#dirs.keys()) {
      if (key === path || key.startsWith(prefix)) this.#dirs.delete(key);
    }
  }

  /** Number of cached directories (for tests). */
  get size(): number {
    return this.#dirs.size;
  }

  async #walk(parts: string[]): Promise<Ino> {
    const generation = this.#generation;
    let depth = parts.length;
    let ino = ROOT_INO;
    for (; depth > 0; depth--) {
      const hit = this.#cached(joinPath(parts.slice(0, depth)));
      if (hit !== undefined) {
        ino = hit;
        break;
      }
    }
    for (let i = depth; i < parts.length; i++) {
      const attr = await this.#vfs.lookup(ino, parts[i]!);
      ino = attr.ino;
      if (attr.type === 'directory' && generation === this.#generation) this.#remember(joinPath(parts.slice(0, i + 1)), ino);
    }
    return ino;
  }

  #cached(path: string): Ino | undefined {
    const entry = this.#dirs.get(path);
    if (entry === undefined) return undefined;
    if (entry.expires > Date.now()) return entry.ino;
    this.#dirs.delete(path);
    return undefined;
  }

  #remember(path: string, ino: Ino): void {
    if (this.#ttlMs <= 0) return;
    this.#dirs.delete(path);
    this.#dirs.set(path, { ino, expires: Date.now() + this.#ttlMs });
    if (this.#dirs.size > this.#maxEntries) {
      const oldest = this.#dirs.keys().next().value;
      if (oldest !== undefined) this.#dirs.delete(oldest);
    }
  }
}

/** '/a/b' -> ['a', 'b']; '/' -> []. */
function splitPath(path: string): string[] {
  return path.split('/').filter((part) => part !== '');
}

function joinPath(parts: string[]): string {
  return `/${parts.join('/')}`;
}
