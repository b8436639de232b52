import { constants } from 'node:fs';
import { open as openLocal } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { FsError, isFsError } from '../../core/errors.js';
import { ROOT_INO, type Attr, type Caller, type Ino, type Vfs } from '../vfs/types.js';

/**
 * File operations on a disk's VFS by path, for the drop-folder engine: it
 * works on the VFS directly (never through the mount point, which would
 * deadlock the process serving it), as root. Paths are keys from the disk
 * root ('inbox/a.jpg'). Every call is async and streams in CHUNK pieces.
 */

/** The engine's identity in the VFS: root, pid 0 (no process of the machine). */
export const ENGINE_CALLER: Caller = { uid: 0, gid: 0, pid: 0 };
/** Bytes per VFS read or write. */
const CHUNK = 1024 * 1024;

function parts(path: string): string[] {
  const names = path.split('/').filter((name) => name !== '');
  if (names.some((name) => name === '.' || name === '..')) throw new FsError('EINVAL', `'${path}' is not a plain path inside the disk`, { path });
  return names;
}

/** The node at `path`; undefined when a component is missing. */
export async function lookupPath(vfs: Vfs, path: string): Promise<Attr | undefined> {
  let attr = await vfs.getattr(ROOT_INO);
  for (const name of parts(path)) {
    try {
      attr = await vfs.lookup(attr.ino, name);
    } catch (err) {
      if (isFsError(err, 'ENOENT')) return undefined;
      throw err;
    }
  }
  return attr;
}

/** The node at `path`; ENOENT when missing. */
export async function requirePath(vfs: Vfs, path: string): Promise<Attr> {
  const attr = await lookupPath(vfs, path);
  if (attr === undefined) throw new FsError('ENOENT', `'${path}' is not in the disk`, { path });
  return attr;
}

/** The directory at `path`, made (with its parents, mode 0755) when missing. */
export async function ensureDirectory(vfs: Vfs, path: string): Promise<Ino> {
  let ino = ROOT_INO;
  for (const name of parts(path)) {
    try {
      ino = (await vfs.mkdir(ino, name, 0o755, ENGINE_CALLER)).ino;
    } catch (err) {
      if (!isFsError(err, 'EEXIST')) throw err;
      const found = await vfs.lookup(ino, name);
      if (found.type !== 'directory') throw new FsError('ENOTDIR', `'${path}': '${name}' is not a directory`, { path });
      ino = found.ino;
    }
  }
  return ino;
}

/** The content of the file at `path` as a stream (the handle is released at the end, on error or destroy). */
export async function readStream(vfs: Vfs, path: string): Promise<Readable> {
  const attr = await requirePath(vfs, path);
  const fh = await vfs.open(attr.ino, { flags: constants.O_RDONLY }, ENGINE_CALLER);
  let offset = 0;
  let released = false;
  const release = async () => {
    if (released) return;
    released = true;
    await vfs.release(fh);
  };
  return new Readable({
    async read() {
      try {
        const chunk = await vfs.read(fh, offset, CHUNK);
        offset += chunk.length;
        if (chunk.length === 0) {
          await release();
          this.push(null);
        } else {
          this.push(chunk);
        }
      } catch (err) {
        this.destroy(err as Error);
      }
    },
    destroy(err, done) {
      release().then(
        () => done(err),
        (releaseErr: Error) => done(err ?? releaseErr),
      );
    },
  });
}

/**
 * Makes the file at `path` hold exactly the bytes of the local file `from`
 * (created, with its folder, when missing; truncated otherwise), then
 * closes it like any writer would (flush, release: its upload is scheduled).
 * Resolves to its inode.
 */
export async function writeFromLocal(vfs: Vfs, path: string, from: string): Promise<Ino> {
  const names = parts(path);
  const name = names.pop();
  if (name === undefined) throw new FsError('EINVAL', 'cannot write the disk root', { path });
  const parent = await ensureDirectory(vfs, names.join('/'));
  let target: { ino: Ino; fh: number };
  try {
    const created = await vfs.create(parent, name, 0o644, { flags: constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL }, ENGINE_CALLER);
    target = { ino: created.attr.ino, fh: created.fh };
  } catch (err) {
    if (!isFsError(err, 'EEXIST')) throw err;
    const existing = await vfs.lookup(parent, name);
    target = { ino: existing.ino, fh: await vfs.open(existing.ino, { flags: constants.O_WRONLY | constants.O_TRUNC }, ENGINE_CALLER) };
  }
  const local = await openLocal(from, 'r');
  try {
    const buffer = Buffer.allocUnsafe(CHUNK);
    for (let offset = 0; ; ) {
      const { bytesRead } = await local.read(buffer, 0, CHUNK, offset);
      if (bytesRead === 0) break;
      await vfs.write(target.fh, offset, buffer.subarray(0, bytesRead));
      offset += bytesRead;
    }
    await vfs.flush(target.fh);
  } finally {
    await local.close();
    await vfs.release(target.fh);
  }
  return target.ino;
}

/** Removes the file at `path`; true when it was there. */
export async function removePath(vfs: Vfs, path: string): Promise<boolean> {
  const names = parts(path);
  const name = names.pop();
  if (name === undefined) throw new FsError('EINVAL', 'cannot remove the disk root', { path });
  const parent = await lookupPath(vfs, names.join('/'));
  if (parent === undefined) return false;
  try {
    await vfs.unlink(parent.ino, name);
    return true;
  } catch (err) {
    if (isFsError(err, 'ENOENT')) return false;
    throw err;
  }
}
