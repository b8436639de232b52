import type { FileHandle } from 'node:fs/promises';
import { FsError, fromSystemError } from '../../core/errors.js';
import { IntervalSet, type ByteRange } from './interval-set.js';
import type { WorkingFile } from './types.js';

/** What a LocalWorkingFile needs from its owner (LocalWorkingFiles). */
export interface WorkingFileOwner {
  /** Records size and held ranges as durable (called after the data was fsynced). */
  persist(ino: number, size: number, ranges: Array<[number, number]>): void;
  /** The last close() of the file: the owner finishes it (sync, close handle) in its per-inode order. */
  released(file: LocalWorkingFile): Promise<void>;
}

/**
 * A working file: a sparse file whose physical size always equals the
 * logical size, plus the set of byte ranges it holds (in memory; persisted
 * by sync()). Mutations (write, truncate, sync) run one at a time in call
 * order; reads run alongside them and see each mutation whole or not at all
 * as far as the range set goes. Opening the same inode twice through
 * LocalWorkingFiles gives the same object; each open needs its own close().
 */
export class LocalWorkingFile implements WorkingFile {
  private mutations: Promise<unknown> = Promise.resolve();
  private state: 'open' | 'closed' | 'removed' = 'open';
  private refs = 1;

  /** `dirty`: changed since its state was last recorded (a new file, never recorded, is). */
  constructor(
    readonly ino: number,
    readonly path: string,
    private readonly handle: FileHandle,
    private logicalSize: number,
    private readonly held: IntervalSet,
    private readonly owner: WorkingFileOwner,
    private dirty = false,
  ) {}

  get size(): number {
    return this.logicalSize;
  }

  get bytesHeld(): number {
    return this.held.total;
  }

  /** The held ranges, in order (for commit and tests). */
  heldRanges(): ByteRange[] {
    return this.held.intervals().map(({ start, end }) => ({ offset: start, length: end - start }));
  }

  /** Open count (LocalWorkingFiles hands out one object per inode). */
  get openCount(): number {
    return this.refs;
  }

  async write(offset: number, data: Buffer): Promise<void> {
    this.checkRange('write', offset, data.length);
    return this.mutate('write', async () => {
      let written = 0;
      while (written < data.length) {
        const { bytesWritten } = await this.handle.write(data, written, data.length - written, offset + written);
        written += bytesWritten;
      }
      if (data.length === 0) return;
      // A write beyond the end leaves a hole: it reads as zeros, which is its content, so it is held.
      if (offset > this.logicalSize) this.held.add(this.logicalSize, offset);
      this.held.add(offset, offset + data.length);
      this.logicalSize = Math.max(this.logicalSize, offset + data.length);
    });
  }

  async read(offset: number, length: number): Promise<Buffer> {
    this.checkRange('read', offset, length);
    this.assertUsable('read');
    const wanted = Math.max(0, Math.min(offset + length, this.logicalSize) - offset);
    const buffer = Buffer.allocUnsafe(wanted);
    let filled = 0;
    try {
      while (filled < wanted) {
        const { bytesRead } = await this.handle.read(buffer, filled, wanted - filled, offset + filled);
        if (bytesRead === 0) break;
        filled += bytesRead;
      }
    } catch (err) {
      throw fromSystemError(err, { path: this.path, op: 'read' });
    }
    // Only if the file shrank under a concurrent truncate: the bytes are gone, reads give zeros.
    if (filled < wanted) buffer.fill(0, filled);
    return buffer;
  }

  async truncate(size: number): Promise<void> {
    this.checkRange('truncate', size, 0);
    return this.mutate('truncate', async () => {
      await this.handle.truncate(size);
      if (size < this.logicalSize) this.held.truncate(size);
      else this.held.add(this.logicalSize, size);
      this.logicalSize = size;
    });
  }

  missing(offset: number, length: number): ByteRange[] {
    this.checkRange('missing', offset, length);
    return this.held.gaps(offset, Math.min(offset + length, this.logicalSize));
  }

  /**
   * fsyncs the data, then records size and held ranges in the database.
   * Durable after it resolves: the size and held ranges as of this call, and
   * the bytes of those ranges. Later changes may be lost in a crash.
   */
  async sync(): Promise<void> {
    return this.mutate('sync', () => this.syncNow(), false);
  }

  /** Closes this open; the last close syncs (when changed since the last sync) and closes the file. */
  async close(): Promise<void> {
    if (this.state !== 'open' || this.refs === 0) return;
    this.refs -= 1;
    if (this.refs === 0) await this.owner.released(this);
  }

  /** Counts another open of the same inode (LocalWorkingFiles only). */
  retain(): void {
    this.refs += 1;
  }

  /**
   * Ends the file after pending mutations: syncs first when `keep` and
   * changed, and closes the handle. Every later call fails EIO. LocalWorkingFiles only.
   */
  async finish(keep: boolean): Promise<void> {
    if (this.state !== 'open') return;
    const last = this.mutations;
    this.state = keep ? 'closed' : 'removed';
    await last.catch(() => undefined);
    try {
      if (keep && this.dirty) await this.syncNow();
    } finally {
      await this.handle.close().catch(() => undefined);
    }
  }

  private async syncNow(): Promise<void> {
    try {
      await this.handle.datasync();
    } catch (err) {
      throw fromSystemError(err, { path: this.path, op: 'sync' });
    }
    this.owner.persist(this.ino, this.logicalSize, this.held.toJSON());
    this.dirty = false;
  }

  /** Queues a mutation after the previous ones; a failed one does not block the next. */
  private mutate(op: string, run: () => Promise<void>, changes = true): Promise<void> {
    this.assertUsable(op);
    // Checked when queued only: mutations queued before close/remove still run (finish waits for them).
    const next = this.mutations.then(async () => {
      try {
        await run();
        if (changes) this.dirty = true;
      } catch (err) {
        // A failed write or truncate may have changed part of the file: sync it anyway.
        if (changes) this.dirty = true;
        throw fromSystemError(err, { path: this.path, op });
      }
    });
    this.mutations = next.catch(() => undefined);
    return next;
  }

  private assertUsable(op: string): void {
    if (this.state !== 'open') {
      throw new FsError('EIO', `${op}: working file of inode ${this.ino} is ${this.state}`, { path: this.path, op });
    }
  }

  private checkRange(op: string, offset: number, length: number): void {
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0) {
      throw new FsError('EINVAL', `${op}: invalid range ${offset}+${length} of working file of inode ${this.ino}`, {
        path: this.path,
        op,
      });
    }
  }
}
