import { execFile } from 'node:child_process';
import type { BigIntStats } from 'node:fs';
import * as fsp from 'node:fs/promises';
import { join } from 'node:path';
import { errnoError, type FsUnderTest, type HandleUnderTest, type OpenFlag, type StatResult, type XattrUnderTest } from './fs-under-test.js';

/** BigIntStats as the suite's StatResult. */
export function fromBigIntStats(s: BigIntStats): StatResult {
  return {
    ino: Number(s.ino),
    mode: Number(s.mode),
    nlink: Number(s.nlink),
    uid: Number(s.uid),
    gid: Number(s.gid),
    size: Number(s.size),
    atimeNs: s.atimeNs,
    mtimeNs: s.mtimeNs,
    ctimeNs: s.ctimeNs,
    isFile: () => s.isFile(),
    isDirectory: () => s.isDirectory(),
    isSymbolicLink: () => s.isSymbolicLink(),
  };
}

/** Nanoseconds as the seconds number node's utimes takes (exact for whole milliseconds). */
const seconds = (ns: bigint) => Number(ns / 1_000_000n) / 1000;

function handleOf(fh: fsp.FileHandle): HandleUnderTest {
  return {
    async read(length, position) {
      const buffer = Buffer.alloc(length);
      let total = 0;
      while (total < length) {
        const { bytesRead } = await fh.read(buffer, total, length - total, position + total);
        if (bytesRead === 0) break;
        total += bytesRead;
      }
      return buffer.subarray(0, total);
    },
    async write(data, position) {
      let total = 0;
      while (total < data.length) {
        const { bytesWritten } = await fh.write(data, total, data.length - total, position + total);
        total += bytesWritten;
      }
      return total;
    },
    truncate: (length) => fh.truncate(length),
    stat: async () => fromBigIntStats(await fh.stat({ bigint: true })),
    sync: () => fh.sync(),
    close: () => fh.close(),
  };
}

/**
 * Extended attributes through the mount. Node has no xattr API; Python's
 * os.getxattr & co. are the same syscalls, run in a child process (never in
 * this process's event loop, so nothing here can block on the mount).
 */
const XATTR_SCRIPT = `
import os, sys, errno
op, path = sys.argv[1], sys.argv[2]
try:
    if op == 'set': os.setxattr(path, sys.argv[3], bytes.fromhex(sys.argv[4]))
    elif op == 'get': sys.stdout.write(os.getxattr(path, sys.argv[3]).hex())
    elif op == 'list': sys.stdout.write('\\n'.join(os.listxattr(path)))
    elif op == 'remove': os.removexattr(path, sys.argv[3])
except OSError as e:
    sys.stderr.write(errno.errorcode.get(e.errno, 'EIO'))
    sys.exit(3)
`;

function python(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('python3', ['-c', XATTR_SCRIPT, ...args], (err, stdout, stderr) => {
      if (!err) return resolve(stdout);
      const code = stderr.trim();
      // Python names ENODATA (61) 'ENODATA' on Linux; keep whatever errno name it gives.
      reject(/^E[A-Z0-9]+$/.test(code) ? errnoError(code, `xattr ${args.join(' ')}`) : err);
    });
  });
}

function xattrThroughPython(): XattrUnderTest {
  return {
    set: async (path, name, value) => void (await python(['set', path, name, value.toString('hex')])),
    get: async (path, name) => Buffer.from(await python(['get', path, name]), 'hex'),
    list: async (path) => (await python(['list', path])).split('\n').filter(Boolean).sort(),
    remove: async (path, name) => void (await python(['remove', path, name])),
  };
}

/** True when python3 with os.getxattr is on PATH. */
export async function xattrToolAvailable(): Promise<boolean> {
  return new Promise((resolve) => execFile('python3', ['-c', 'import os; os.getxattr'], (err) => resolve(!err)));
}

/**
 * The suite's filesystem as node:fs/promises on `mountpoint`. Paths given to
 * it are relative to the mount root ('/a/b' is `<mountpoint>/a/b`).
 */
export function mountedFs(mountpoint: string, options: { xattr: boolean }): FsUnderTest {
  const at = (path: string) => join(mountpoint, path);
  const xattr = options.xattr ? xattrThroughPython() : null;
  return {
    kind: 'mounted',
    writeFile: (path, data, opts) => fsp.writeFile(at(path), data, { mode: opts?.mode ?? 0o644, flag: opts?.flag ?? 'w' }),
    readFile: (path) => fsp.readFile(at(path)),
    appendFile: (path, data) => fsp.appendFile(at(path), data),
    open: async (path, flag: OpenFlag, mode) => handleOf(await fsp.open(at(path), flag, mode ?? 0o644)),
    truncate: (path, length) => fsp.truncate(at(path), length),
    stat: async (path) => fromBigIntStats(await fsp.stat(at(path), { bigint: true })),
    lstat: async (path) => fromBigIntStats(await fsp.lstat(at(path), { bigint: true })),
    readdir: async (path) => (await fsp.readdir(at(path))).sort(),
    mkdir: async (path, opts) => void (await fsp.mkdir(at(path), { mode: opts?.mode ?? 0o755, recursive: opts?.recursive ?? false })),
    rmdir: (path) => fsp.rmdir(at(path)),
    unlink: (path) => fsp.unlink(at(path)),
    rename: (from, to) => fsp.rename(at(from), at(to)),
    symlink: (target, path) => fsp.symlink(target, at(path)),
    readlink: (path) => fsp.readlink(at(path)),
    link: (existing, newPath) => fsp.link(at(existing), at(newPath)),
    chmod: (path, mode) => fsp.chmod(at(path), mode),
    chown: (path, uid, gid) => fsp.chown(at(path), uid, gid),
    utimes: (path, atimeNs, mtimeNs) => fsp.utimes(at(path), seconds(atimeNs), seconds(mtimeNs)),
    statfs: async (path) => {
      const s = await fsp.statfs(at(path));
      return { bsize: s.bsize, blocks: s.blocks, bfree: s.bfree, bavail: s.bavail, files: s.files, ffree: s.ffree };
    },
    xattr: xattr === null ? null : { ...xattr, set: (p, n, v) => xattr.set(at(p), n, v), get: (p, n) => xattr.get(at(p), n), list: (p) => xattr.list(at(p)), remove: (p, n) => xattr.remove(at(p), n) },
  };
}
