import { constants } from 'node:fs';
import { FsError } from '../../../src/core/errors.js';
import {
  ROOT_INO,
  type Attr,
  type AttrChanges,
  type Caller,
  type DirEntry,
  type Fh,
  type FsStats,
  type Ino,
  type NodeType,
  type OpenFlags,
  type TimeSpec,
  type Vfs,
  type WriteBackStatus,
} from '../../../src/daemon/vfs/types.js';

/**
 * TEST DOUBLE — not the product's VFS. A small in-memory Vfs, just enough
 * to exercise the FUSE adapter end to end (errno mapping, big writes,
 * xattrs, lifecycle). The real VFS (src/daemon) replaces it in the final
 * mount tests. It records the size of every write it receives and every
 * setattr with its caller's uid, and a name starting with `boom` makes
 * lookup throw a plain Error (not an FsError). As in POSIX, an unlinked
 * file lives on while a handle to it is open.
 */
export class TestMemoryVfs implements Vfs {
  readonly writeSizes: number[] = [];
  /** Every setattr's changes, in order (times as strings), and the caller's uid as `by`, for tests to inspect. */
  readonly setattrs: Record<string, string | number>[] = [];
  /** How often lookup, getxattr and listxattr were called (lookup also counts the calls other methods make). */
  readonly calls = { lookup: 0, getxattr: 0, listxattr: 0 };
  readonly #nodes = new Map<Ino, MemNode>();
  readonly #handles = new Map<Fh, { ino: Ino; append: boolean }>();
  #nextIno = ROOT_INO + 1;
  #nextFh = 1;

  constructor() {
    this.#nodes.set(ROOT_INO, newNode(ROOT_INO, 'directory', 0o755, { uid: 0, gid: 0, pid: 0 }));
    this.#node(ROOT_INO).nlink = 2;
  }

  async lookup(parent: Ino, name: string): Promise<Attr> {
    this.calls.lookup++;
    if (name.startsWith('boom')) throw new Error(`test double: unexpected failure for '${name}'`);
    checkName(name);
    const ino = this.#dir(parent).children.get(name);
    if (ino === undefined) throw new FsError('ENOENT', `no entry '${name}'`);
    return this.getattr(ino);
  }

  async getattr(ino: Ino): Promise<Attr> {
    const n = this.#node(ino);
    const size = n.type === 'directory' ? 4096 : n.type === 'symlink' ? Buffer.byteLength(n.target) : n.size;
    return { ino, type: n.type, mode: n.mode, nlink: n.nlink, uid: n.uid, gid: n.gid, size, atimeNs: n.atime, mtimeNs: n.mtime, ctimeNs: n.ctime };
  }

  async setattr(ino: Ino, changes: AttrChanges, caller: Caller, _fh?: Fh): Promise<Attr> {
    const recorded = Object.entries(changes).map(([k, v]) => [k, typeof v === 'bigint' ? String(v) : v]);
    this.setattrs.push(Object.fromEntries([...recorded, ['by', caller.uid]]));
    const n = this.#node(ino);
    if (changes.mode !== undefined) n.mode = (n.mode & ~0o7777) | (changes.mode & 0o7777);
    if (changes.uid !== undefined) n.uid = changes.uid;
    if (changes.gid !== undefined) n.gid = changes.gid;
    if (changes.size !== undefined) setSize(n, changes.size);
    if (changes.atime !== undefined) n.atime = timeOf(changes.atime);
    if (changes.mtime !== undefined) n.mtime = timeOf(changes.mtime);
    n.ctime = now();
    return this.getattr(ino);
  }

  async readdir(ino: Ino): Promise<DirEntry[]> {
    const dir = this.#dir(ino);
    const sorted = [...dir.children.entries()].sort(([a], [b]) => (a < b ? -1 : 1));
    return Promise.all(
      sorted.map(async ([name, child]) => {
        const node = this.#node(child);
        return { name, ino: child, type: node.type, attr: await this.getattr(child), hasXattrs: node.xattrs.size > 0 };
      }),
    );
  }

  async open(ino: Ino, flags: OpenFlags, _caller: Caller): Promise<Fh> {
    const n = this.#node(ino);
    if (n.type === 'directory') throw new FsError('EISDIR', `inode ${ino} is a directory`);
    if (flags.flags & constants.O_TRUNC) setSize(n, 0);
    const fh = this.#nextFh++;
    this.#handles.set(fh, { ino, append: (flags.flags & constants.O_APPEND) !== 0 });
    return fh;
  }

  async create(parent: Ino, name: string, mode: number, flags: OpenFlags, caller: Caller): Promise<{ attr: Attr; fh: Fh }> {
    const attr = await this.mknod(parent, name, mode, caller);
    return { attr, fh: await this.open(attr.ino, flags, caller) };
  }

  async mknod(parent: Ino, name: string, mode: number, caller: Caller): Promise<Attr> {
    if ((mode & 0o170000) !== 0 && (mode & 0o170000) !== 0o100000) throw new FsError('EPERM', 'only regular files');
    return this.#add(parent, name, newNode(this.#nextIno++, 'file', mode & 0o7777, caller));
  }

  async read(fh: Fh, offset: number, length: number): Promise<Buffer> {
    const n = this.#node(this.#handle(fh).ino);
    return Buffer.from(n.data.subarray(Math.min(offset, n.size), Math.min(offset + length, n.size)));
  }

  async write(fh: Fh, offset: number, data: Buffer): Promise<number> {
    this.writeSizes.push(data.length);
    const handle = this.#handle(fh);
    const n = this.#node(handle.ino);
    const at = handle.append ? n.size : offset;
    if (at + data.length > n.size) setSize(n, at + data.length);
    data.copy(n.data, at);
    n.mtime = n.ctime = now();
    return data.length;
  }

  async flush(fh: Fh): Promise<void> {
    this.#handle(fh);
  }

  async fsync(fh: Fh, _dataOnly: boolean): Promise<void> {
    this.#handle(fh);
  }

  async release(fh: Fh): Promise<void> {
    const { ino } = this.#handle(fh);
    this.#handles.delete(fh);
    this.#dropIfUnused(ino);
  }

  async mkdir(parent: Ino, name: string, mode: number, caller: Caller): Promise<Attr> {
    const attr = await this.#add(parent, name, newNode(this.#nextIno++, 'directory', mode & 0o7777, caller));
    this.#node(attr.ino).nlink = 2;
    this.#node(parent).nlink++;
    return this.getattr(attr.ino);
  }

  async unlink(parent: Ino, name: string): Promise<void> {
    const ino = (await this.lookup(parent, name)).ino;
    if (this.#node(ino).type === 'directory') throw new FsError('EISDIR', `'${name}' is a directory`);
    this.#detach(parent, name, ino);
  }

  async rmdir(parent: Ino, name: string): Promise<void> {
    const ino = (await this.lookup(parent, name)).ino;
    if (this.#dir(ino).children.size > 0) throw new FsError('ENOTEMPTY', `'${name}' is not empty`);
    this.#detach(parent, name, ino);
    this.#node(parent).nlink--;
  }

  async rename(parent: Ino, name: string, newParent: Ino, newName: string): Promise<void> {
    const ino = (await this.lookup(parent, name)).ino;
    checkName(newName);
    const existing = this.#dir(newParent).children.get(newName);
    if (existing !== undefined && existing !== ino) {
      const target = this.#node(existing);
      if (target.type === 'directory' && target.children.size > 0) throw new FsError('ENOTEMPTY', `'${newName}' is not empty`);
      this.#detach(newParent, newName, existing);
    }
    this.#dir(parent).children.delete(name);
    this.#dir(newParent).children.set(newName, ino);
  }

  async symlink(parent: Ino, name: string, target: string, caller: Caller): Promise<Attr> {
    const node = newNode(this.#nextIno++, 'symlink', 0o777, caller);
    node.target = target;
    return this.#add(parent, name, node);
  }

  async readlink(ino: Ino): Promise<string> {
    const n = this.#node(ino);
    if (n.type !== 'symlink') throw new FsError('EINVAL', `inode ${ino} is not a symlink`);
    return n.target;
  }

  async link(ino: Ino, newParent: Ino, newName: string): Promise<Attr> {
    if (this.#node(ino).type === 'directory') throw new FsError('EPERM', 'no hard links to directories');
    this.#node(ino).nlink++;
    return this.#add(newParent, newName, this.#node(ino));
  }

  async statfs(): Promise<FsStats> {
    return { blockSize: 4096, blocks: 2 ** 40, blocksFree: 2 ** 39, blocksAvailable: 2 ** 39, files: 1e6, filesFree: 1e6 - this.#nodes.size, nameMax: 255 };
  }

  async setxattr(ino: Ino, name: string, value: Buffer, flags: number): Promise<void> {
    const xattrs = this.#node(ino).xattrs;
    if (flags === 1 && xattrs.has(name)) throw new FsError('EEXIST', `xattr '${name}' exists`);
    if (flags === 2 && !xattrs.has(name)) throw new FsError('ENODATA', `no xattr '${name}'`);
    xattrs.set(name, value);
  }

  async getxattr(ino: Ino, name: string): Promise<Buffer> {
    this.calls.getxattr++;
    const value = this.#node(ino).xattrs.get(name);
    if (value === undefined) throw new FsError('ENODATA', `no xattr '${name}'`);
    return value;
  }

  async listxattr(ino: Ino): Promise<string[]> {
    this.calls.listxattr++;
    return [...this.#node(ino).xattrs.keys()];
  }

  async removexattr(ino: Ino, name: string): Promise<void> {
    if (!this.#node(ino).xattrs.delete(name)) throw new FsError('ENODATA', `no xattr '${name}'`);
  }

  /** Nothing is ever pending here. */
  async sync(): Promise<void> {}

  /** There is no backend to list again. */
  async refresh(): Promise<void> {}

  /** Nothing is ever held here. */
  releaseUpload(): void {}

  status(): WriteBackStatus {
    return {
      pending: { operations: 0, uploads: 0, bytes: 0 },
      inFlight: [],
      held: [],
      failing: [],
      totals: { done: 0, retries: 0, uploads: 0, uploadedBytes: 0 },
      cache: { bytes: 0, dirtyBytes: 0 },
      dedup: { files: 0, bytesSaved: 0, uploadMsSaved: 0 },
    };
  }

  async close(): Promise<void> {
    this.#handles.clear();
  }

  #node(ino: Ino): MemNode {
    const n = this.#nodes.get(ino);
    if (n === undefined) throw new FsError('ENOENT', `no inode ${ino}`);
    return n;
  }

  #dir(ino: Ino): MemNode {
    const n = this.#node(ino);
    if (n.type !== 'directory') throw new FsError('ENOTDIR', `inode ${ino} is not a directory`);
    return n;
  }

  #handle(fh: Fh): { ino: Ino; append: boolean } {
    const h = this.#handles.get(fh);
    if (h === undefined) throw new FsError('EINVAL', `no handle ${fh}`);
    return h;
  }

  async #add(parent: Ino, name: string, node: MemNode): Promise<Attr> {
    checkName(name);
    const dir = this.#dir(parent);
    if (dir.children.has(name)) throw new FsError('EEXIST', `'${name}' exists`);
    this.#nodes.set(node.ino, node);
    dir.children.set(name, node.ino);
    return this.getattr(node.ino);
  }

  #detach(parent: Ino, name: string, ino: Ino): void {
    this.#dir(parent).children.delete(name);
    const n = this.#node(ino);
    n.nlink -= n.type === 'directory' ? 2 : 1;
    this.#dropIfUnused(ino);
  }

  /** Forgets a node with no name left and no open handle. */
  #dropIfUnused(ino: Ino): void {
    const n = this.#nodes.get(ino);
    if (n === undefined || n.nlink > 0) return;
    for (const handle of this.#handles.values()) if (handle.ino === ino) return;
    this.#nodes.delete(ino);
  }
}

interface MemNode {
  ino: Ino;
  type: NodeType;
  mode: number;
  nlink: number;
  uid: number;
  gid: number;
  atime: bigint;
  mtime: bigint;
  ctime: bigint;
  /** Capacity grows geometrically; `size` bytes of it are the content. */
  data: Buffer;
  size: number;
  target: string;
  children: Map<string, Ino>;
  xattrs: Map<string, Buffer>;
}

const TYPE_BITS: Record<NodeType, number> = { file: 0o100000, directory: 0o040000, symlink: 0o120000 };

function newNode(ino: Ino, type: NodeType, perm: number, caller: Caller): MemNode {
  const t = now();
  return { ino, type, mode: TYPE_BITS[type] | perm, nlink: 1, uid: caller.uid, gid: caller.gid, atime: t, mtime: t, ctime: t, data: Buffer.alloc(0), size: 0, target: '', children: new Map(), xattrs: new Map() };
}

function checkName(name: string): void {
  if (Buffer.byteLength(name) > 255) throw new FsError('ENAMETOOLONG', `name of ${Buffer.byteLength(name)} bytes`);
}

/** Truncates or extends (with zeros) the content of `n`. */
function setSize(n: MemNode, size: number): void {
  if (size > n.data.length) {
    const grown = Buffer.alloc(Math.max(size, n.data.length * 2));
    n.data.copy(grown, 0, 0, n.size);
    n.data = grown;
  } else if (size > n.size) {
    n.data.fill(0, n.size, size);
  }
  n.size = size;
}

function now(): bigint {
  return BigInt(Date.now()) * 1_000_000n;
}

function timeOf(spec: TimeSpec): bigint {
  return spec === 'now' ? now() : spec;
}
