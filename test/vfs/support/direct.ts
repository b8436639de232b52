import { constants } from 'node:fs';
import { ROOT_INO, type Attr, type Caller, type Fh, type Ino, type Vfs } from '../../../src/daemon/vfs/types.js';
import { errnoError, type FsUnderTest, type HandleUnderTest, type OpenFlag, type StatResult } from './fs-under-test.js';

const S_IFMT = 0o170000;
const MAX_SYMLINK_HOPS = 40;

/** Attr as the suite's StatResult. */
export function fromAttr(a: Attr): StatResult {
  return {
    ino: a.ino,
    mode: a.mode,
    nlink: a.nlink,
    uid: a.uid,
    gid: a.gid,
    size: a.size,
    atimeNs: a.atimeNs,
    mtimeNs: a.mtimeNs,
    ctimeNs: a.ctimeNs,
    isFile: () => (a.mode & S_IFMT) === constants.S_IFREG,
    isDirectory: () => (a.mode & S_IFMT) === constants.S_IFDIR,
    isSymbolicLink: () => (a.mode & S_IFMT) === constants.S_IFLNK,
  };
}

/** node's flag strings as open(2) flag words. */
export const OPEN_FLAGS: Record<OpenFlag, number> = {
  r: constants.O_RDONLY,
  'r+': constants.O_RDWR,
  w: constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC,
  wx: constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_EXCL,
  'w+': constants.O_RDWR | constants.O_CREAT | constants.O_TRUNC,
  a: constants.O_WRONLY | constants.O_CREAT | constants.O_APPEND,
  'a+': constants.O_RDWR | constants.O_CREAT | constants.O_APPEND,
};

const components = (path: string) => path.split('/').filter((c) => c !== '' && c !== '.');

/** Where a path leads: the inode chain from the root (last = the node) and its attributes. */
interface Walked {
  stack: Ino[];
  attr: Attr;
}

/**
 * The suite's filesystem on a Vfs, called the way the kernel calls a FUSE
 * filesystem: paths are walked with lookup from ROOT_INO (symlinks followed,
 * at most 40 hops), files are used through open/create, read/write,
 * flush+release. Checks the kernel makes itself before ever asking the
 * filesystem (a lookup below a non-directory, open/read of a directory,
 * unlink of a directory, rename type mismatches and a directory into its own
 * subtree, link of a directory) are made here with the kernel's errno, so
 * both implementations answer alike. `current` gives the live Vfs (a remount
 * replaces it).
 */
export function directFs(current: () => Vfs, caller: Caller): FsUnderTest {
  const vfs = () => current();

  async function walkFrom(start: Ino[], parts: string[], followLast: boolean, hops: { n: number }): Promise<Walked> {
    const stack = [...start];
    let attr = await vfs().getattr(stack[stack.length - 1]!);
    for (const [i, part] of parts.entries()) {
      if (part === '..') {
        if (stack.length > 1) stack.pop();
        attr = await vfs().getattr(stack[stack.length - 1]!);
        continue;
      }
      if (attr.type !== 'directory') throw errnoError('ENOTDIR', `${parts.slice(0, i).join('/')} is not a directory`);
      const found = await vfs().lookup(stack[stack.length - 1]!, part);
      const last = i === parts.length - 1;
      if (found.type === 'symlink' && (!last || followLast)) {
        if (++hops.n > MAX_SYMLINK_HOPS) throw errnoError('ELOOP', parts.join('/'));
        const target = await vfs().readlink(found.ino);
        const base = target.startsWith('/') ? [ROOT_INO] : stack;
        const walked = await walkFrom(base, components(target), true, hops);
        stack.splice(0, stack.length, ...walked.stack);
        attr = walked.attr;
        continue;
      }
      stack.push(found.ino);
      attr = found;
    }
    return { stack, attr };
  }

  const walk = (path: string, followLast = true) => walkFrom([ROOT_INO], components(path), followLast, { n: 0 });

  /** The directory that holds the path's last component, and that component. */
  async function parentOf(path: string): Promise<{ dir: Ino; name: string }> {
    const parts = components(path);
    const name = parts.pop();
    if (name === undefined) throw errnoError('EINVAL', `'${path}' has no last component`);
    const { attr } = await walk(parts.join('/'));
    if (attr.type !== 'directory') throw errnoError('ENOTDIR', `${parts.join('/')} is not a directory`);
    return { dir: attr.ino, name };
  }

  async function lookupMaybe(dir: Ino, name: string): Promise<Attr | null> {
    try {
      return await vfs().lookup(dir, name);
    } catch (err) {
      if ((err as { code?: string }).code === 'ENOENT') return null;
      throw err;
    }
  }

  function handle(fh: Fh, ino: Ino): HandleUnderTest {
    return {
      async read(length, position) {
        const parts: Buffer[] = [];
        let total = 0;
        while (total < length) {
          const chunk = await vfs().read(fh, position + total, Math.min(length - total, 131072));
          if (chunk.length === 0) break;
          parts.push(chunk);
          total += chunk.length;
        }
        return Buffer.concat(parts);
      },
      async write(data, position) {
        let total = 0;
        // The kernel sends at most max_write (128 KiB) per request.
        while (total < data.length) {
          const piece = data.subarray(total, total + 131072);
          total += await vfs().write(fh, position + total, piece);
        }
        return total;
      },
      truncate: async (length) => void (await vfs().setattr(ino, { size: length }, caller, fh)),
      stat: async () => fromAttr(await vfs().getattr(ino)),
      sync: () => vfs().fsync(fh, false),
      async close() {
        await vfs().flush(fh);
        await vfs().release(fh);
      },
    };
  }

  async function open(path: string, flag: OpenFlag, mode = 0o644): Promise<HandleUnderTest> {
    const flags = OPEN_FLAGS[flag];
    const { dir, name } = await parentOf(path);
    let existing = await lookupMaybe(dir, name);
    if (existing?.type === 'symlink') existing = (await walk(path)).attr;
    if (existing === null || (flags & constants.O_EXCL) !== 0) {
      if ((flags & constants.O_CREAT) === 0) throw errnoError('ENOENT', path);
      const { attr, fh } = await vfs().create(dir, name, mode, { flags }, caller);
      return handle(fh, attr.ino);
    }
    const accessMode = flags & (constants.O_WRONLY | constants.O_RDWR);
    if (existing.type === 'directory' && accessMode !== 0) throw errnoError('EISDIR', path);
    if (existing.type === 'directory') return directoryHandle(path);
    const fh = await vfs().open(existing.ino, { flags: flags & ~(constants.O_CREAT | constants.O_EXCL) }, caller);
    return handle(fh, existing.ino);
  }

  /** A descriptor on a directory: the kernel answers read(2) with EISDIR itself. */
  function directoryHandle(path: string): HandleUnderTest {
    const isDir = () => Promise.reject(errnoError('EISDIR', path));
    return { read: isDir, write: isDir, truncate: isDir, stat: async () => fromAttr((await walk(path)).attr), sync: async () => {}, close: async () => {} };
  }

  async function readAll(h: HandleUnderTest): Promise<Buffer> {
    const parts: Buffer[] = [];
    for (let position = 0; ; ) {
      const chunk = await h.read(1 << 20, position);
      if (chunk.length === 0) break;
      parts.push(chunk);
      position += chunk.length;
    }
    return Buffer.concat(parts);
  }

  async function setattr(path: string, changes: Parameters<Vfs['setattr']>[1]): Promise<void> {
    const { attr } = await walk(path);
    await vfs().setattr(attr.ino, changes, caller);
  }

  const fs: FsUnderTest = {
    kind: 'direct',
    async writeFile(path, data, options) {
      const h = await open(path, options?.flag ?? 'w', options?.mode);
      try {
        await h.write(Buffer.from(data), 0);
      } finally {
        await h.close();
      }
    },
    async readFile(path) {
      const h = await open(path, 'r');
      try {
        return await readAll(h);
      } finally {
        await h.close();
      }
    },
    async appendFile(path, data) {
      const h = await open(path, 'a');
      try {
        await h.write(Buffer.from(data), (await h.stat()).size);
      } finally {
        await h.close();
      }
    },
    open,
    truncate: (path, length) => setattr(path, { size: length }),
    stat: async (path) => fromAttr((await walk(path)).attr),
    lstat: async (path) => fromAttr((await walk(path, false)).attr),
    async readdir(path) {
      const { attr } = await walk(path);
      return (await vfs().readdir(attr.ino)).map((e) => e.name).sort();
    },
    async mkdir(path, options) {
      const mode = options?.mode ?? 0o755;
      if (!options?.recursive) {
        const { dir, name } = await parentOf(path);
        await vfs().mkdir(dir, name, mode, caller);
        return;
      }
      let at: Ino = ROOT_INO;
      for (const part of components(path)) {
        const found = await lookupMaybe(at, part);
        if (found !== null && found.type !== 'directory') throw errnoError('ENOTDIR', path);
        at = found?.ino ?? (await vfs().mkdir(at, part, mode, caller)).ino;
      }
    },
    async rmdir(path) {
      const { dir, name } = await parentOf(path);
      const target = await vfs().lookup(dir, name);
      if (target.type !== 'directory') throw errnoError('ENOTDIR', path);
      await vfs().rmdir(dir, name);
    },
    async unlink(path) {
      const { dir, name } = await parentOf(path);
      const target = await vfs().lookup(dir, name);
      if (target.type === 'directory') throw errnoError('EISDIR', path);
      await vfs().unlink(dir, name);
    },
    async rename(from, to) {
      const source = await parentOf(from);
      const target = await parentOf(to);
      const moving = await vfs().lookup(source.dir, source.name);
      const replaced = await lookupMaybe(target.dir, target.name);
      const fromParts = components(from);
      const toParts = components(to);
      if (moving.type === 'directory' && toParts.length > fromParts.length && fromParts.every((p, i) => toParts[i] === p)) {
        throw errnoError('EINVAL', `cannot move ${from} into its own subtree ${to}`);
      }
      if (replaced !== null && replaced.ino === moving.ino) return;
      if (replaced !== null && moving.type === 'directory' && replaced.type !== 'directory') throw errnoError('ENOTDIR', to);
      if (replaced !== null && moving.type !== 'directory' && replaced.type === 'directory') throw errnoError('EISDIR', to);
      await vfs().rename(source.dir, source.name, target.dir, target.name);
    },
    async symlink(target, path) {
      const { dir, name } = await parentOf(path);
      await vfs().symlink(dir, name, target, caller);
    },
    async readlink(path) {
      const { attr } = await walk(path, false);
      return vfs().readlink(attr.ino);
    },
    async link(existing, newPath) {
      const { attr } = await walk(existing, false);
      if (attr.type === 'directory') throw errnoError('EPERM', `${existing} is a directory`);
      const { dir, name } = await parentOf(newPath);
      await vfs().link(attr.ino, dir, name);
    },
    chmod: (path, mode) => setattr(path, { mode }),
    chown: (path, uid, gid) => setattr(path, { uid, gid }),
    utimes: (path, atime, mtime) => setattr(path, { atime, mtime }),
    async statfs() {
      const s = await vfs().statfs();
      return { bsize: s.blockSize, blocks: s.blocks, bfree: s.blocksFree, bavail: s.blocksAvailable, files: s.files, ffree: s.filesFree };
    },
    xattr: {
      set: async (path, name, value) => vfs().setxattr((await walk(path)).attr.ino, name, value, 0),
      get: async (path, name) => vfs().getxattr((await walk(path)).attr.ino, name),
      list: async (path) => (await vfs().listxattr((await walk(path)).attr.ino)).sort(),
      remove: async (path, name) => vfs().removexattr((await walk(path)).attr.ino, name),
    },
  };
  return fs;
}
