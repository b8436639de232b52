import { FsError, fromSystemError } from '../../core/errors.js';
import { normalizeDirectory } from '../../core/paths.js';
import { fsStats, toAttr } from './attrs.js';
import { needsCommit, saveFile } from './commit.js';
import { createContext, requireDirectory, requireNode, type VfsContext, type VfsDeps } from './context.js';
import { DataPath } from './data.js';
import { checkName, parentKey } from './names.js';
import { Namespace } from './namespace.js';
import { Refresher } from './refresh.js';
import { setattr } from './setattr.js';
import type { Attr, AttrChanges, Caller, CloseOptions, DirEntry, Fh, FsStats, Ino, OpenFlags, Vfs, WriteBackStatus } from './types.js';
import { Xattrs } from './xattrs.js';

/**
 * Builds the VFS of one mounted disk from its backend driver, metadata index
 * and content manager. See the Vfs contract (types.ts); the modules say how
 * each part behaves: namespace.ts, data.ts, setattr.ts, refresh.ts,
 * remote-ops.ts, commit.ts, xattrs.ts.
 */
export function createVfs(deps: VfsDeps): Vfs {
  let namespace: Namespace | undefined;
  const ctx = createContext(deps, (keys) => namespace!.relist(keys));
  const vfs = new StoragedVfs(ctx);
  namespace = vfs.namespace;
  deps.content.setRelocator((ino) => ctx.sync.movesSettled(ino));
  const resumed = vfs.resume();
  if (resumed > 0) deps.logger.info({ operations: resumed }, 'resuming backend operations journaled by the previous run');
  return vfs;
}

class StoragedVfs implements Vfs {
  private readonly refresher: Refresher;
  readonly namespace: Namespace;
  private readonly data: DataPath;
  private readonly xattrs: Xattrs;
  private closing: Promise<void> | undefined;

  constructor(private readonly ctx: VfsContext) {
    this.refresher = new Refresher(ctx);
    this.namespace = new Namespace(ctx, this.refresher);
    this.data = new DataPath(ctx);
    this.xattrs = new Xattrs(ctx);
  }

  lookup(parent: Ino, name: string): Promise<Attr> {
    return this.guard('lookup', async () => {
      requireDirectory(this.ctx, parent, 'lookup');
      checkName(name, this.ctx.driver.capabilities.limits, 'lookup');
      await this.refresher.ensureListed(parent);
      const node = this.ctx.index.lookup(parent, name);
      if (!node) throw new FsError('ENOENT', `lookup: no entry '${name}' in '${this.ctx.index.pathOf(parent)}'`, { path: name, op: 'lookup' });
      return toAttr(this.ctx, node);
    });
  }

  getattr(ino: Ino): Promise<Attr> {
    return this.guard('getattr', async () => toAttr(this.ctx, requireNode(this.ctx, ino, 'getattr')));
  }

  setattr(ino: Ino, changes: AttrChanges, caller: Caller, fh?: Fh): Promise<Attr> {
    return this.guard('setattr', async () => toAttr(this.ctx, await setattr(this.ctx, this.data, ino, changes, caller, fh)));
  }

  readdir(ino: Ino): Promise<DirEntry[]> {
    return this.guard('readdir', async () => {
      requireDirectory(this.ctx, ino, 'readdir');
      await this.refresher.ensureListed(ino);
      const withXattrs = this.ctx.index.childrenWithXattrs(ino);
      return this.ctx.index.children(ino).map(({ name, node }) => ({
        name,
        ino: node.ino,
        type: node.type,
        attr: toAttr(this.ctx, node),
        hasXattrs: withXattrs.has(node.ino),
      }));
    });
  }

  open(ino: Ino, flags: OpenFlags, _caller: Caller): Promise<Fh> {
    return this.guard('open', () => this.data.open(ino, flags.flags));
  }

  create(parent: Ino, name: string, mode: number, flags: OpenFlags, caller: Caller): Promise<{ attr: Attr; fh: Fh }> {
    return this.guard('create', async () => {
      const node = await this.namespace.createFile(parent, name, mode, caller);
      const fh = await this.data.openCreated(node, flags.flags);
      // openCreated changes nothing in the row: the created one is current.
      return { attr: toAttr(this.ctx, node), fh };
    });
  }

  mknod(parent: Ino, name: string, mode: number, caller: Caller): Promise<Attr> {
    return this.guard('mknod', async () => toAttr(this.ctx, await this.namespace.mknod(parent, name, mode, caller)));
  }

  read(fh: Fh, offset: number, length: number): Promise<Buffer> {
    return this.guard('read', () => this.data.read(fh, offset, length));
  }

  write(fh: Fh, offset: number, data: Buffer): Promise<number> {
    return this.guard('write', () => this.data.write(fh, offset, data));
  }

  flush(fh: Fh): Promise<void> {
    return this.guard('flush', () => this.data.flush(fh));
  }

  fsync(fh: Fh, _dataOnly: boolean): Promise<void> {
    // Data and attributes travel in the same upload: dataOnly changes nothing.
    return this.guard('fsync', () => this.data.fsync(fh));
  }

  release(fh: Fh): Promise<void> {
    return this.guard('release', () => this.data.release(fh));
  }

  mkdir(parent: Ino, name: string, mode: number, caller: Caller): Promise<Attr> {
    return this.guard('mkdir', async () => toAttr(this.ctx, await this.namespace.mkdir(parent, name, mode, caller)));
  }

  unlink(parent: Ino, name: string): Promise<void> {
    return this.guard('unlink', () => this.namespace.unlink(parent, name));
  }

  rmdir(parent: Ino, name: string): Promise<void> {
    return this.guard('rmdir', () => this.namespace.rmdir(parent, name));
  }

  rename(parent: Ino, name: string, newParent: Ino, newName: string): Promise<void> {
    return this.guard('rename', () => this.namespace.rename(parent, name, newParent, newName));
  }

  symlink(parent: Ino, name: string, target: string, caller: Caller): Promise<Attr> {
    return this.guard('symlink', async () => toAttr(this.ctx, await this.namespace.symlink(parent, name, target, caller)));
  }

  readlink(ino: Ino): Promise<string> {
    return this.guard('readlink', async () => {
      const node = requireNode(this.ctx, ino, 'readlink');
      if (node.type !== 'symlink' || node.target === undefined) {
        throw new FsError('EINVAL', `readlink: '${this.ctx.index.pathOf(ino)}' is not a symlink`, { op: 'readlink' });
      }
      return node.target;
    });
  }

  link(ino: Ino, newParent: Ino, newName: string): Promise<Attr> {
    return this.guard('link', async () => toAttr(this.ctx, await this.namespace.link(ino, newParent, newName)));
  }

  statfs(): Promise<FsStats> {
    return this.guard('statfs', async () => fsStats(this.ctx));
  }

  setxattr(ino: Ino, name: string, value: Buffer, flags: number): Promise<void> {
    return this.guard('setxattr', async () => this.xattrs.set(ino, name, value, flags));
  }

  getxattr(ino: Ino, name: string): Promise<Buffer> {
    return this.guard('getxattr', async () => this.xattrs.get(ino, name));
  }

  listxattr(ino: Ino): Promise<string[]> {
    return this.guard('listxattr', async () => this.xattrs.list(ino));
  }

  removexattr(ino: Ino, name: string): Promise<void> {
    return this.guard('removexattr', async () => this.xattrs.remove(ino, name));
  }

  /** Starts what the journal holds (called once, at creation); returns the number of operations. */
  resume(): number {
    return this.ctx.sync.resume();
  }

  sync(): Promise<void> {
    return this.guard('sync', async () => {
      this.scheduleOpenFiles();
      await this.ctx.sync.drain();
    });
  }

  releaseUpload(ino: Ino): void {
    if (!this.ctx.closed) this.ctx.sync.releaseHeld(ino);
  }

  refresh(path: string): Promise<void> {
    return this.guard('refresh', async () => {
      const key = normalizeDirectory(path);
      const node = this.ctx.index.resolve(key);
      if (!node) throw new FsError('ENOENT', `refresh: '${path}' is not in the mount`, { path, op: 'refresh' });
      if (node.type !== 'directory') return this.refresher.listNow(this.ctx.index.resolve(parentKey(key))!.ino);
      // The directory, then every directory below it the index has listed (breadth first, one listing at a time).
      const pending = [node.ino];
      while (pending.length > 0) {
        const dir = pending.shift()!;
        await this.refresher.listNow(dir);
        for (const child of this.ctx.index.children(dir)) {
          if (child.node.type === 'directory' && this.ctx.index.listedAt(child.node.ino) !== undefined) pending.push(child.node.ino);
        }
      }
    });
  }

  status(): WriteBackStatus {
    const pending = this.ctx.sync.pending();
    const usage = this.ctx.content.usage();
    return {
      pending: { operations: pending.operations, uploads: pending.uploads, bytes: pending.bytes },
      inFlight: pending.inFlight,
      held: this.ctx.sync.heldPaths(),
      failing: pending.failing,
      totals: { ...this.ctx.sync.totals },
      cache: { bytes: usage.bytes, dirtyBytes: usage.dirtyBytes },
      dedup: this.ctx.content.dedupStats(),
    };
  }

  /**
   * Drains the write-back queue (uploads open files with changes too;
   * `onProgress` about once a second), or with `abandon` stops it at once
   * leaving the rest journaled; then waits for background listings, closes
   * the content manager, runs onClose (the block cache) and closes the
   * index. Calls after close reject with EIO.
   */
  close(options: CloseOptions = {}): Promise<void> {
    this.closing ??= this.shutdown(options);
    return this.closing;
  }

  private async shutdown(options: CloseOptions): Promise<void> {
    const { ctx } = this;
    let failure: unknown;
    if (!options.abandon) {
      this.scheduleOpenFiles();
      await ctx.sync.drain(options.onProgress ? () => options.onProgress!(this.status()) : undefined).catch((err: unknown) => {
        ctx.logger.error({ err }, 'close: draining the write-back queue failed; the rest stays journaled');
        failure ??= err;
      });
    }
    ctx.closed = true;
    await ctx.sync.stop();
    await this.refresher.idle();
    await ctx.remote.drain();
    await ctx.content.close();
    await ctx.onClose?.();
    ctx.index.close();
    if (failure !== undefined) throw fromSystemError(failure, { op: 'close' });
  }

  /**
   * Schedules the upload of every file open through a handle with changes
   * not queued for upload yet (queued ones run at once in the drain; a
   * running one already carries every write: writes wait for it).
   */
  private scheduleOpenFiles(): void {
    for (const file of this.ctx.handles.openFiles()) {
      if (this.ctx.handles.handleCount(file.ino) === 0) continue; // held by an upload, not by a program
      saveFile(this.ctx, file);
      if (needsCommit(this.ctx, file) && !this.ctx.sync.hasUpload(file.ino)) this.ctx.sync.scheduleUpload(file.ino, { now: true });
    }
  }

  /** Runs one operation: EIO after close; every rejection becomes an FsError. */
  private async guard<T>(op: string, run: () => Promise<T>): Promise<T> {
    if (this.ctx.closed) throw new FsError('EIO', `${op}: the file system is closed`, { op });
    try {
      return await run();
    } catch (err) {
      throw fromSystemError(err, { op });
    }
  }
}
