import { constants } from 'node:fs';
import { FsError } from '../../core/errors.js';
import type { NewNode, NodeRow } from '../meta/types.js';
import { modeOf } from './attrs.js';
import { nowNs } from './clock.js';
import { requireDirectory, requireNode, type VfsContext } from './context.js';
import { forgetIfOrphan } from './lifecycle.js';
import { S_ISGID } from './modes.js';
import { checkKey, checkName, joinKey, parentKey } from './names.js';
import type { Refresher } from './refresh.js';
import type { Caller, Ino, NodeType } from './types.js';

/** Longest symlink target (PATH_MAX). */
const MAX_TARGET_BYTES = 4096;

/**
 * Namespace operations: the index changes (atomically; it also sets the
 * parents' mtime/ctime and the node's ctime) and the backend operation is
 * journaled in the same transaction; the write-back queue (sync.ts) brings
 * the backend in line in the background. A parent never listed is listed
 * first, so EEXIST/ENOENT reflect the backend.
 */
export class Namespace {
  constructor(
    private readonly ctx: VfsContext,
    private readonly refresher: Refresher,
  ) {}

  /** Validates a new name under `parent` (listed first) and returns the parent and the new backend key. */
  async prepare(parent: Ino, name: string, op: string): Promise<{ dir: NodeRow; key: string }> {
    const dir = requireDirectory(this.ctx, parent, op);
    checkName(name, this.ctx.driver.capabilities.limits, op);
    await this.refresher.ensureListed(parent);
    const key = joinKey(this.ctx.index.pathOf(parent), name);
    checkKey(key, this.ctx.driver.capabilities.limits, op);
    return { dir, key };
  }

  /** Creates a regular file in the index (state 'new'); it reaches the backend on release. */
  async createFile(parent: Ino, name: string, mode: number, caller: Caller): Promise<NodeRow> {
    const { dir } = await this.prepare(parent, name, 'create');
    const node = this.ctx.index.create(parent, name, this.newNode(dir, caller, 'file', mode));
    return node;
  }

  /** mknod for regular files: created, and its (empty) upload scheduled. EPERM for any other type. */
  async mknod(parent: Ino, name: string, mode: number, caller: Caller): Promise<NodeRow> {
    const type = mode & constants.S_IFMT;
    if (type !== 0 && type !== constants.S_IFREG) {
      throw new FsError('EPERM', `mknod '${name}': only regular files can be created (mode ${mode.toString(8)})`, { path: name, op: 'mknod' });
    }
    const { dir } = await this.prepare(parent, name, 'mknod');
    const node = this.ctx.index.transaction(() => {
      const created = this.ctx.index.create(parent, name, this.newNode(dir, caller, 'file', mode));
      this.ctx.sync.journalUpload(created.ino);
      return created;
    });
    this.ctx.sync.scheduleUpload(node.ino);
    return node;
  }

  /** Creates a directory: in the index (marked listed: it is empty), its backend marker journaled. */
  async mkdir(parent: Ino, name: string, mode: number, caller: Caller): Promise<NodeRow> {
    const { dir, key } = await this.prepare(parent, name, 'mkdir');
    return this.ctx.sync.record(
      () => {
        const node = this.ctx.index.create(parent, name, this.newNode(dir, caller, 'directory', mode));
        this.ctx.index.reconcileDirectory(node.ino, [], Date.now());
        return node;
      },
      (node) => ({ kind: 'mkdir', ino: node.ino, key }),
    );
  }

  /** Creates a symlink: in the index, its backend object (content = target) journaled. */
  async symlink(parent: Ino, name: string, target: string, caller: Caller): Promise<NodeRow> {
    const bytes = Buffer.byteLength(target, 'utf8');
    if (bytes === 0) throw new FsError('ENOENT', `symlink '${name}': empty target`, { path: name, op: 'symlink' });
    if (bytes > MAX_TARGET_BYTES || target.includes('\0')) {
      throw new FsError(bytes > MAX_TARGET_BYTES ? 'ENAMETOOLONG' : 'EINVAL', `symlink '${name}': bad target (${bytes} bytes)`, { path: name, op: 'symlink' });
    }
    const { dir, key } = await this.prepare(parent, name, 'symlink');
    const fields = { ...this.newNode(dir, caller, 'symlink', 0o777), target, size: bytes };
    return this.ctx.sync.record(
      () => this.ctx.index.create(parent, name, fields),
      (node) => ({ kind: 'symlink', ino: node.ino, key }),
    );
  }

  /**
   * Removes a file or symlink name (EISDIR for a directory); the node goes
   * when its last name and handle do. Deleting the object is journaled unless
   * the backend cannot have it (never uploaded, no upload running).
   */
  async unlink(parent: Ino, name: string): Promise<void> {
    const { key } = await this.prepare(parent, name, 'unlink');
    const node = this.existing(parent, name, 'unlink');
    if (node.type === 'directory') throw new FsError('EISDIR', `unlink '${key}': is a directory`, { path: key, op: 'unlink' });
    const onBackend = node.remote !== undefined || this.ctx.sync.uploading(node.ino);
    this.ctx.sync.record(
      () => this.ctx.index.unlink(parent, name),
      () => (onBackend ? { kind: 'unlink', ino: node.ino, key } : undefined),
    );
    await forgetIfOrphan(this.ctx, node.ino);
  }

  /** Removes an empty directory (listed afresh first when stale: ENOTEMPTY must see the backend's children). */
  async rmdir(parent: Ino, name: string): Promise<void> {
    const { key } = await this.prepare(parent, name, 'rmdir');
    const node = this.existing(parent, name, 'rmdir');
    if (node.type !== 'directory') throw new FsError('ENOTDIR', `rmdir '${key}': not a directory`, { path: key, op: 'rmdir' });
    await this.refresher.ensureListed(node.ino, { fresh: true });
    if (this.ctx.index.childCount(node.ino) > 0) throw new FsError('ENOTEMPTY', `rmdir '${key}': directory not empty`, { path: key, op: 'rmdir' });
    this.ctx.sync.record(
      () => {
        this.ctx.index.unlink(parent, name);
        this.ctx.index.forget(node.ino);
      },
      () => ({ kind: 'rmdir', ino: node.ino, key }),
    );
  }

  /**
   * rename(2): atomic in the index (replacing a file, or an empty directory),
   * with the backend move journaled: one move for a file, a move of
   * everything below for a directory. Renaming a name onto another name of
   * the same inode does nothing.
   */
  async rename(parent: Ino, name: string, newParent: Ino, newName: string): Promise<void> {
    const { key: from } = await this.prepare(parent, name, 'rename');
    const { key: to } = await this.prepare(newParent, newName, 'rename');
    const node = this.existing(parent, name, 'rename');
    const target = this.ctx.index.lookup(newParent, newName);
    if (target?.ino === node.ino) return;
    if (target?.type === 'directory' && node.type === 'directory') await this.refresher.ensureListed(target.ino, { fresh: true });
    const { replaced } = this.ctx.sync.record(
      () => {
        const result = this.ctx.index.rename(parent, name, newParent, newName);
        if (result.replaced?.lastLink && result.replaced.node.type === 'directory') this.ctx.index.forget(result.replaced.node.ino);
        return result;
      },
      ({ replaced: gone }) =>
        node.type === 'directory'
          ? { kind: 'rename-dir', ino: node.ino, from, to }
          : { kind: 'rename-file', ino: node.ino, from, to, replaced: gone !== undefined },
    );
    if (replaced && replaced.node.type !== 'directory') await forgetIfOrphan(this.ctx, replaced.node.ino);
  }

  /** A second name for a file (EPERM for a directory); on the backend, a copy (journaled). */
  async link(ino: Ino, newParent: Ino, newName: string): Promise<NodeRow> {
    const node = requireNode(this.ctx, ino, 'link');
    if (node.type === 'directory') throw new FsError('EPERM', `link: inode ${ino} is a directory`, { op: 'link' });
    const { key } = await this.prepare(newParent, newName, 'link');
    const from = this.ctx.index.pathOf(ino);
    this.ctx.sync.record(
      () => this.ctx.index.link(ino, newParent, newName),
      () => ({ kind: 'link', ino, from, to: key }),
    );
    return requireNode(this.ctx, ino, 'link');
  }

  /**
   * Lists again the directories that received objects the index did not
   * know (swept by a directory rename): for each, its deepest directory the
   * index has, so the new entries show at once.
   */
  async relist(keys: string[]): Promise<void> {
    const dirs = new Set<Ino>();
    for (const key of keys) {
      let path = parentKey(key);
      let node = this.ctx.index.resolve(path);
      while (node?.type !== 'directory' && path !== '') {
        path = parentKey(path);
        node = this.ctx.index.resolve(path);
      }
      if (node?.type === 'directory') dirs.add(node.ino);
    }
    for (const dir of dirs) await this.refresher.listNow(dir);
  }

  /** Fields of a new node: the caller's uid; the parent's gid under a setgid directory (which new directories inherit). */
  private newNode(dir: NodeRow, caller: Caller, type: NodeType, permissions: number): NewNode {
    const now = nowNs();
    const setgidParent = (dir.mode & S_ISGID) !== 0;
    const bits = type === 'directory' && setgidParent ? permissions | S_ISGID : permissions;
    return {
      type,
      mode: modeOf(type, bits),
      uid: caller.uid,
      gid: setgidParent ? dir.gid : caller.gid,
      size: 0,
      atimeNs: now,
      mtimeNs: now,
      ctimeNs: now,
      state: 'new',
    };
  }

  private existing(parent: Ino, name: string, op: string): NodeRow {
    const node = this.ctx.index.lookup(parent, name);
    if (!node) throw new FsError('ENOENT', `${op}: no entry '${name}' in '${this.ctx.index.pathOf(parent)}'`, { path: name, op });
    return node;
  }
}
