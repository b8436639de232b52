import { constants } from 'node:fs';
import { FsError } from '../../core/errors.js';
import type { NodeRow } from '../meta/types.js';
import { nowNs } from './clock.js';
import { needsCommit, saveFile } from './commit.js';
import { requireNode, type VfsContext } from './context.js';
import type { Handle, OpenFile } from './handles.js';
import { acquireFile, releaseFile } from './lifecycle.js';
import { O_ACCMODE } from './modes.js';
import { reportClosed } from './upload-observer.js';
import type { Fh, Ino } from './types.js';

/**
 * The data path: handles over shared FileContent. Reads and writes go to the
 * content (working file, cached blocks, backend ranges); writes only touch
 * memory-side state (the time overlay). On close (flush) and fsync the index
 * learns size and times, the upload is journaled and, with fsync_on_close,
 * data and journal are fsynced: a closed file survives a crash. The upload
 * itself is the write-back queue's (scheduled on release of a writing handle
 * or the last handle of a changed file).
 */
export class DataPath {
  constructor(private readonly ctx: VfsContext) {}

  /** Opens a regular file; O_TRUNC with write access empties it. EISDIR for a directory, ELOOP for a symlink. */
  async open(ino: Ino, flags: number): Promise<Fh> {
    const node = requireNode(this.ctx, ino, 'open');
    if (node.type === 'directory') throw new FsError('EISDIR', `open: '${this.ctx.index.pathOf(ino)}' is a directory`, { op: 'open' });
    if (node.type === 'symlink') throw new FsError('ELOOP', `open: '${this.ctx.index.pathOf(ino)}' is a symlink`, { op: 'open' });
    return (await this.openHandle(node, flags)).fh;
  }

  /** A handle on a node just created (create(2)). */
  async openCreated(node: NodeRow, flags: number): Promise<Fh> {
    const handle = await this.openHandle(node, flags & ~constants.O_TRUNC);
    handle.file.undurable = true; // a new name: durable on its first close too
    return handle.fh;
  }

  async read(fh: Fh, offset: number, length: number): Promise<Buffer> {
    checkRange(offset, length, 'read');
    const { file } = this.ctx.handles.get(fh);
    if (length === 0) return Buffer.alloc(0);
    return file.content.read(offset, length);
  }

  /** Writes at `offset`, or at the end for O_APPEND handles (appends of one file are serialized). */
  async write(fh: Fh, offset: number, data: Buffer): Promise<number> {
    checkRange(offset, data.length, 'write');
    const handle = this.ctx.handles.get(fh);
    if (!handle.writable) throw new FsError('EBADF', `write: handle ${fh} is open read-only`, { op: 'write' });
    if (data.length === 0) return 0; // changes nothing, not even mtime
    const { file } = handle;
    // A running upload of this file is stale now: it stops (releasing the gate) and is requeued.
    this.ctx.sync.interruptUpload(file.ino);
    const writeAt = (at: number) => file.gate.withShared(() => file.content.write(at, data));
    if (handle.append) {
      const run = file.appendTail.then(() => writeAt(file.content.size()));
      file.appendTail = run.catch(() => undefined);
      await run;
    } else {
      await writeAt(offset);
    }
    this.changed(handle);
    return data.length;
  }

  /** close(2): the index learns the file's size and times; a changed file's upload is journaled and made durable. */
  async flush(fh: Fh): Promise<void> {
    const { file } = this.ctx.handles.get(fh);
    await this.persist(file, this.ctx.settings.writeBack.fsyncOnClose);
  }

  /** fsync(2): like close, always fsynced; the upload is scheduled (the file may stay open). */
  async fsync(fh: Fh): Promise<void> {
    const { file } = this.ctx.handles.get(fh);
    if (await this.persist(file, true)) this.ctx.sync.scheduleUpload(file.ino);
  }

  /**
   * Frees a handle. The upload of its file is scheduled when this handle
   * wrote, or when it is the last handle of a file with changes (a created
   * file is uploaded even without writes). A file with no name left is
   * dropped instead.
   */
  async release(fh: Fh): Promise<void> {
    const handle = this.ctx.handles.take(fh);
    const { file } = handle;
    try {
      const last = this.ctx.handles.handleCount(file.ino) === 0;
      saveFile(this.ctx, file);
      // A writer restarts the upload delay; a reader only makes sure a changed file's upload is queued.
      if (needsCommit(this.ctx, file) && (handle.wrote || (last && !this.ctx.sync.hasUpload(file.ino)))) {
        this.ctx.sync.scheduleUpload(file.ino);
        reportClosed(this.ctx, file.ino);
      }
    } finally {
      await releaseFile(this.ctx, file);
    }
  }

  /** Truncates an open file's content (ftruncate/O_TRUNC/truncate): the change waits for its commit. */
  async truncate(file: OpenFile, size: number): Promise<void> {
    await file.gate.withShared(() => file.content.truncate(size));
    const now = nowNs();
    file.overlay = { mtimeNs: now, ctimeNs: now };
    file.unsaved = true;
    file.undurable = true;
  }

  /** Acquires the file, applies O_TRUNC (write access only), then registers the handle. */
  private async openHandle(node: NodeRow, flags: number): Promise<Handle> {
    const file = await acquireFile(this.ctx, node);
    const truncating = (flags & O_ACCMODE) !== constants.O_RDONLY && (flags & constants.O_TRUNC) !== 0;
    try {
      if (truncating) await this.truncate(file, 0);
    } catch (err) {
      await releaseFile(this.ctx, file);
      throw err;
    }
    const handle = this.ctx.handles.add(file, flags);
    handle.wrote = truncating;
    return handle;
  }

  /**
   * Saves size and times to the index and, when the file needs an upload,
   * journals it; with `durable`, the working file and the journal are
   * fsynced first. True when an upload is due.
   */
  private async persist(file: OpenFile, durable: boolean): Promise<boolean> {
    saveFile(this.ctx, file);
    if (!needsCommit(this.ctx, file)) return false;
    const sync = durable && file.undurable;
    file.undurable = false;
    if (sync) await file.content.syncLocal();
    this.ctx.sync.journalUpload(file.ino);
    if (sync) await this.ctx.durability.barrier();
    return true;
  }

  private changed(handle: Handle): void {
    handle.wrote = true;
    const now = nowNs();
    handle.file.overlay = { mtimeNs: now, ctimeNs: now };
    handle.file.unsaved = true;
    handle.file.undurable = true;
  }
}

function checkRange(offset: number, length: number, op: string): void {
  if (!Number.isSafeInteger(offset) || offset < 0 || !Number.isSafeInteger(length) || length < 0) {
    throw new FsError('EINVAL', `${op}: bad range offset ${offset}, length ${length}`, { op });
  }
}
