import { constants } from 'node:fs';
import { FsError } from '../../core/errors.js';
import type { FileContent } from '../content/types.js';
import { O_ACCMODE } from './modes.js';
import { Gate } from './queues.js';
import type { Fh, Ino } from './types.js';

/**
 * The in-memory state of one regular file while anything uses it (handles,
 * a commit, a truncate): its shared FileContent, the gate that keeps writes
 * out of a running commit, and the time overlay written to the index only on
 * flush/fsync/release (not on every 128 KiB write).
 */
export interface OpenFile {
  readonly ino: Ino;
  readonly content: FileContent;
  /** Users: open handles plus operations in progress. */
  refs: number;
  /** Writes and truncates are shared holders; a commit is exclusive (nothing changes the content between its steps). */
  readonly gate: Gate;
  /** Serializes O_APPEND writes (size read and write as one step). */
  appendTail: Promise<unknown>;
  /** Times changed by writes, not yet in the index. */
  overlay?: { mtimeNs: bigint; ctimeNs: bigint };
  /** True while the index does not have the current size/times/state. */
  unsaved: boolean;
  /** Changed since its data and journal row were last made durable (flush with fsync_on_close, fsync). */
  undurable: boolean;
}

/** One open(2)/create(2): what the kernel's fh refers to. */
export interface Handle {
  readonly fh: Fh;
  readonly file: OpenFile;
  readonly flags: number;
  readonly writable: boolean;
  readonly append: boolean;
  /** True once this handle wrote or truncated (its release commits). */
  wrote: boolean;
}

/**
 * The handle table (fh → Handle) and the open-file table (ino → OpenFile).
 * Opening the same inode twice shares one OpenFile; the FileContent is
 * obtained once per OpenFile and released when its last user drops it.
 */
export class HandleTable {
  private nextFh = 1;
  private readonly handles = new Map<Fh, Handle>();
  private readonly files = new Map<Ino, OpenFile>();
  private readonly opening = new Map<Ino, Promise<OpenFile>>();

  /** The OpenFile of `ino`, creating it with `open` when none exists; counts one user. */
  async acquire(ino: Ino, open: () => Promise<FileContent>): Promise<OpenFile> {
    const existing = this.files.get(ino);
    if (existing) {
      existing.refs++;
      return existing;
    }
    let pending = this.opening.get(ino);
    if (!pending) {
      pending = open().then((content) => {
        const file: OpenFile = { ino, content, refs: 0, gate: new Gate(), appendTail: Promise.resolve(), unsaved: false, undurable: false };
        this.files.set(ino, file);
        return file;
      });
      this.opening.set(ino, pending);
      const clear = () => this.opening.delete(ino);
      pending.then(clear, clear);
    }
    const file = await pending;
    file.refs++;
    return file;
  }

  /** Drops one user; true when it was the last (the caller then releases the content). */
  drop(file: OpenFile): boolean {
    file.refs--;
    if (file.refs > 0) return false;
    if (this.files.get(file.ino) === file) this.files.delete(file.ino);
    return true;
  }

  /** The OpenFile of an inode, when one is in use. */
  file(ino: Ino): OpenFile | undefined {
    return this.files.get(ino);
  }

  /** True while the inode has an OpenFile or one is being opened (a refresh must not delete its row). */
  inUse(ino: Ino): boolean {
    return this.files.has(ino) || this.opening.has(ino);
  }

  /** Every OpenFile in use. */
  openFiles(): OpenFile[] {
    return [...this.files.values()];
  }

  /** Number of open handles on an inode. */
  handleCount(ino: Ino): number {
    let count = 0;
    for (const handle of this.handles.values()) if (handle.file.ino === ino) count++;
    return count;
  }

  /** Registers a handle for an acquired OpenFile (the handle owns that user count). */
  add(file: OpenFile, flags: number): Handle {
    const accessMode = flags & O_ACCMODE;
    const handle: Handle = {
      fh: this.nextFh++,
      file,
      flags,
      writable: accessMode !== constants.O_RDONLY,
      append: (flags & constants.O_APPEND) !== 0,
      wrote: false,
    };
    this.handles.set(handle.fh, handle);
    return handle;
  }

  /** The handle `fh`; EBADF when it is not open. */
  get(fh: Fh): Handle {
    const handle = this.handles.get(fh);
    if (!handle) throw new FsError('EBADF', `file handle ${fh} is not open`, { op: 'handle' });
    return handle;
  }

  /** Removes and returns the handle `fh` (EBADF when it is not open). */
  take(fh: Fh): Handle {
    const handle = this.get(fh);
    this.handles.delete(fh);
    return handle;
  }
}
