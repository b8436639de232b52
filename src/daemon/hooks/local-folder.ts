import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import { copyFile, link, lstat, mkdir, open, readFile, rename, unlink, utimes, type FileHandle } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative } from 'node:path';
import type { Readable } from 'node:stream';
import { FsError, fromSystemError } from '../../core/errors.js';
import { normalizeKey } from '../../core/paths.js';
import { copyFileDurably, fsyncDirectory, numberedName, sha256OfFile, temporarySibling, writeBytesDurably } from './steps/files.js';
import type { DropFileVersion, DropFolder } from './types.js';

/** The folder (inside each set-aside destination) where setAside records where each path went. */
const INTENTS = '.storaged-set-aside';
/** How many versions written by replace/writeDerived are remembered for isOwnVersion. */
const REMEMBERED_WRITES = 10_000;

/**
 * A DropFolder over a plain local directory (config `watch.<name>.local`),
 * through node:fs/promises only. Paths are relative to `root`; an absolute
 * path or one with a '..' segment is refused (FsError EINVAL) before any
 * I/O. Only regular files count: a symlink is not followed (stat: undefined,
 * read: ELOOP). Every write goes to a hidden temporary sibling, is fsynced
 * and renamed into place, so the folder never shows a torn file.
 */
export class LocalDropFolder implements DropFolder {
  /** 'size:mtime' of the last version replace/writeDerived wrote, per path (oldest first, bounded). */
  private readonly written = new Map<string, string>();

  /** @param root absolute path of the watched folder. */
  constructor(
    readonly name: string,
    readonly root: string,
  ) {
    if (!isAbsolute(root)) throw new FsError('EINVAL', `local drop folder '${name}': root '${root}' must be an absolute path`, { path: root, op: 'config' });
  }

  /** The file's version (size, mtime); undefined when it is gone or not a regular file; EISDIR for a folder. */
  async stat(path: string): Promise<DropFileVersion | undefined> {
    const full = this.resolve(path);
    const info = await lstat(full).catch((err: unknown) => missingOr(err, full, 'stat'));
    if (info === undefined) return undefined;
    if (info.isDirectory()) throw new FsError('EISDIR', `drop folder '${this.name}': '${path}' is a folder`, { path, op: 'stat' });
    if (!info.isFile()) return undefined;
    return { path: normalizeKey(path), size: info.size, mtimeMs: info.mtimeMs };
  }

  /** A stream of the file's bytes; ENOENT when gone, ELOOP for a symlink, EISDIR for a folder. */
  async read(path: string): Promise<Readable> {
    const full = this.resolve(path);
    let handle: FileHandle | undefined;
    try {
      handle = await open(full, constants.O_RDONLY | constants.O_NOFOLLOW);
      if ((await handle.stat()).isDirectory()) throw new FsError('EISDIR', `drop folder '${this.name}': '${path}' is a folder`, { path, op: 'read' });
      return handle.createReadStream();
    } catch (err) {
      await handle?.close().catch(() => undefined);
      throw fromSystemError(err, { path: full, op: 'read' });
    }
  }

  /** The file's absolute path (EINVAL for a path leaving the folder). */
  localPath(path: string): string {
    return this.resolve(path);
  }

  /** Replaces the file's bytes with those of `from`, keeping its permission bits; ENOENT when the file is gone. */
  async replace(path: string, from: string): Promise<void> {
    const full = this.resolve(path);
    const info = await lstat(full).catch((err: unknown) => missingOr(err, full, 'replace'));
    if (info === undefined) throw new FsError('ENOENT', `drop folder '${this.name}': cannot replace '${path}': it is gone`, { path, op: 'replace' });
    await copyFileDurably(from, full, { mode: info.mode & 0o7777 });
    await this.remember(path);
  }

  /** Writes the bytes of `from` at `target` (relative to the folder's root), creating folders, replacing a file there. */
  async writeDerived(target: string, from: string): Promise<void> {
    const full = this.resolve(target);
    await mkdir(dirname(full), { recursive: true }).catch((err: unknown) => Promise.reject(fromSystemError(err, { path: full, op: 'mkdir' })));
    await copyFileDurably(from, full);
    await this.remember(target);
  }

  /**
   * True when `version` is exactly what this folder's replace or writeDerived
   * last wrote at that path (same size and mtime): the folder's watcher sees
   * it as a change, but it is the engine's own output, not an arrival. In
   * memory only (the last 10,000 writes), so a restart forgets it.
   */
  isOwnVersion(version: DropFileVersion): boolean {
    return this.written.get(version.path) === `${version.size}:${version.mtimeMs}`;
  }

  /** Writes `bytes` at `target` (relative to the folder's root) durably, creating folders, replacing a file there. */
  async writeDerivedBytes(target: string, bytes: Uint8Array): Promise<void> {
    const full = this.resolve(target);
    await mkdir(dirname(full), { recursive: true }).catch((err: unknown) => Promise.reject(fromSystemError(err, { path: full, op: 'mkdir' })));
    await writeBytesDurably(full, bytes);
  }

  /**
   * Moves the file to `into/<path>` (` (2)`, ` (3)`... before the extension
   * when taken), never overwriting and never deleting content: a hard link
   * then an unlink on one file system, a durable copy then an unlink across
   * file systems (EXDEV). Where it went is recorded first (a small file in
   * `into/.storaged-set-aside/`), so a re-run after a crash resolves to the
   * same place: the file already gone -> that place; the file still there
   * and that place holding the same bytes (a copy the crash interrupted
   * before the unlink) -> unlink and that place. ENOENT when the file is gone
   * and no earlier move is known.
   */
  async setAside(path: string, into: string): Promise<string> {
    const key = normalizeKey(path);
    const full = this.resolve(path);
    const intentPath = join(into, INTENTS, `${createHash('sha256').update(key).digest('hex').slice(0, 32)}.json`);
    const previous = await readIntent(intentPath, into);
    const info = await lstat(full).catch((err: unknown) => missingOr(err, full, 'set aside'));
    if (info === undefined) {
      if (previous !== undefined && (await exists(previous))) return previous;
      throw new FsError('ENOENT', `drop folder '${this.name}': cannot set '${path}' aside: it is gone`, { path, op: 'set aside' });
    }
    if (!info.isFile()) throw new FsError('EINVAL', `drop folder '${this.name}': '${path}' is not a regular file`, { path, op: 'set aside' });
    if (previous !== undefined && (await sameFile(full, previous))) {
      await unlinkDurably(full);
      return previous;
    }
    try {
      await mkdir(join(into, INTENTS), { recursive: true });
      await mkdir(dirname(join(into, key)), { recursive: true });
      return await this.moveToFreeName(full, join(into, key), intentPath, into);
    } catch (err) {
      throw fromSystemError(err, { path: full, op: 'set aside' });
    }
  }

  /** Removes the file; already gone is fine. */
  async remove(path: string): Promise<void> {
    const full = this.resolve(path);
    try {
      await unlinkDurably(full);
    } catch (err) {
      if ((err as { code?: unknown }).code !== 'ENOENT') throw fromSystemError(err, { path: full, op: 'remove' });
    }
  }

  /** Nothing is held back in a local folder. */
  async release(_path: string): Promise<void> {}

  private async remember(path: string): Promise<void> {
    const version = await this.stat(path);
    if (version === undefined) return;
    this.written.delete(version.path);
    this.written.set(version.path, `${version.size}:${version.mtimeMs}`);
    if (this.written.size > REMEMBERED_WRITES) this.written.delete(this.written.keys().next().value as string);
  }

  /** The absolute path of a relative one; EINVAL for absolute paths, '..' segments, empty or NUL. */
  private resolve(path: string): string {
    if (typeof path !== 'string' || isAbsolute(path) || path.split(/[\\/]/).includes('..')) {
      throw new FsError('EINVAL', `drop folder '${this.name}': path '${String(path)}' must be relative and stay inside the folder`, { path: String(path), op: 'path' });
    }
    return join(this.root, normalizeKey(path));
  }

  /** Tries `wanted`, then `name (2).ext`... recording each choice before moving there. */
  private async moveToFreeName(full: string, wanted: string, intentPath: string, into: string): Promise<string> {
    for (let n = 1; ; n++) {
      const candidate = n === 1 ? wanted : numberedName(wanted, n);
      if (await exists(candidate)) continue;
      await writeBytesDurably(intentPath, Buffer.from(JSON.stringify({ dest: relative(into, candidate) })));
      const moved = await placeAt(full, candidate);
      if (moved) return candidate;
    }
  }
}

/** Moves `from` to `to` unless `to` exists (false then). Hard link + unlink; a durable copy across file systems. */
async function placeAt(from: string, to: string): Promise<boolean> {
  try {
    await link(from, to);
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (code === 'EEXIST') return false;
    if (code !== 'EXDEV' && code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP') throw err;
    if (code === 'EXDEV') {
      await copyAcross(from, to);
    } else {
      // A file system without hard links: rename (exists() was checked just before).
      await rename(from, to);
      await fsyncDirectory(dirname(to));
      await fsyncDirectory(dirname(from));
      return true;
    }
  }
  await fsyncDirectory(dirname(to));
  await unlinkDurably(from);
  return true;
}

/** Copies `from` to a hidden sibling of `to`, fsynced, with `from`'s times, then links it in place (never overwriting). */
async function copyAcross(from: string, to: string): Promise<void> {
  const temp = temporarySibling(to);
  try {
    await copyFile(from, temp, constants.COPYFILE_EXCL);
    const info = await lstat(from);
    await utimes(temp, info.atime, info.mtime);
    const handle = await open(temp, 'r+');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
    await link(temp, to);
  } finally {
    await unlink(temp).catch(() => undefined);
  }
}

async function unlinkDurably(path: string): Promise<void> {
  await unlink(path);
  await fsyncDirectory(dirname(path));
}

async function readIntent(intentPath: string, into: string): Promise<string | undefined> {
  try {
    const parsed = JSON.parse(await readFile(intentPath, 'utf8')) as { dest?: unknown };
    return typeof parsed.dest === 'string' ? join(into, parsed.dest) : undefined;
  } catch {
    return undefined; // no earlier move (or an unreadable record: treated as none)
  }
}

async function exists(path: string): Promise<boolean> {
  return (await lstat(path).catch((err: unknown) => missingOr(err, path, 'stat'))) !== undefined;
}

/** True when `a` and `b` are one file (hard link) or hold the same bytes with the same size and mtime. */
async function sameFile(a: string, b: string): Promise<boolean> {
  const [x, y] = await Promise.all([lstat(a), lstat(b).catch((err: unknown) => missingOr(err, b, 'stat'))]);
  if (y === undefined) return false;
  if (x.dev === y.dev && x.ino === y.ino) return true;
  if (x.size !== y.size || Math.trunc(x.mtimeMs) !== Math.trunc(y.mtimeMs)) return false;
  return (await sha256OfFile(a)) === (await sha256OfFile(b));
}

/** undefined for ENOENT/ENOTDIR; every other error rejects as an FsError. */
function missingOr(err: unknown, path: string, op: string): undefined {
  const code = (err as { code?: unknown }).code;
  if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
  throw fromSystemError(err, { path, op });
}
