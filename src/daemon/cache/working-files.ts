import { mkdirSync, readdirSync, unlinkSync } from 'node:fs';
import { open, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { FsError, fromSystemError } from '../../core/errors.js';
import { fromSqliteError, type Database, type Statement } from '../db.js';
import { IntervalSet } from './interval-set.js';
import { LocalWorkingFile, type WorkingFileOwner } from './working-file.js';
import type { WorkingFile, WorkingFiles } from './types.js';

interface WorkingRow {
  size: number;
  ranges: string;
}

/**
 * Working files under `<dir>/work/<ino>`, with their size and held ranges in
 * the `working_files` table (see schema.ts; the caller migrates).
 *
 * Durability: a row is written by every sync() and last close() after a
 * change (a new working file counts as changed): the size and held ranges of
 * that moment, whose bytes were fsynced first. After a crash, the row and the
 * file together give the content as of the last sync; bytes written later
 * may or may not be in the file but are not counted as held. Startup drops
 * rows whose file is gone and files without a row (neither can be trusted):
 * a working file never synced is dropped, as if it had never been created.
 * A working file removed before its first sync never costs a database write.
 *
 * Operations on one inode (open, last close, remove) run one at a time in call
 * order; opening an inode that is already open returns the same object.
 */
export class LocalWorkingFiles implements WorkingFiles, WorkingFileOwner {
  private readonly root: string;
  private readonly known = new Set<number>();
  /** Inodes whose working file has a row (recorded by a sync, or found at startup). */
  private readonly rows = new Set<number>();
  private readonly live = new Map<number, LocalWorkingFile>();
  private readonly locks = new Map<number, Promise<unknown>>();
  private readonly sql: {
    get: Statement<WorkingRow>;
    upsert: Statement;
    remove: Statement;
  };

  /** Reads the table and the folder (synchronously: once, at mount time). */
  constructor(db: Database, dir: string) {
    this.root = join(dir, 'work');
    this.sql = {
      get: db.prepare<WorkingRow>('SELECT size, ranges FROM working_files WHERE ino = ?'),
      upsert: db.prepare(
        `INSERT INTO working_files (ino, size, ranges, synced_ms) VALUES (?, ?, ?, ?)
         ON CONFLICT (ino) DO UPDATE SET size = excluded.size, ranges = excluded.ranges, synced_ms = excluded.synced_ms`,
      ),
      remove: db.prepare('DELETE FROM working_files WHERE ino = ?'),
    };
    this.reconcile(db);
  }

  /**
   * The working file of `ino`: the existing one (its recorded size and
   * ranges; `initialSize` is then ignored) or a new one of `initialSize`
   * bytes, none held.
   */
  async open(ino: number, initialSize: number): Promise<WorkingFile> {
    checkIno(ino);
    if (!Number.isSafeInteger(initialSize) || initialSize < 0) {
      throw new FsError('EINVAL', `working file of inode ${ino}: invalid initial size ${initialSize}`);
    }
    return this.exclusive(ino, async () => {
      const current = this.live.get(ino);
      if (current !== undefined) {
        current.retain();
        return current;
      }
      const file = await this.load(ino, initialSize);
      this.live.set(ino, file);
      this.known.add(ino);
      return file;
    });
  }

  exists(ino: number): boolean {
    return this.known.has(ino);
  }

  /** Deletes the file and its row; an open object for it fails EIO from then on. */
  async remove(ino: number): Promise<void> {
    checkIno(ino);
    return this.exclusive(ino, async () => {
      const file = this.live.get(ino);
      this.live.delete(ino);
      if (file !== undefined) await file.finish(false);
      this.forgetRow(ino);
      await this.unlinkFile(ino);
    });
  }

  /**
   * Ends the working file of `ino` as remove() does, but first offers its
   * file (closed, with exactly its logical size) to `take`, which may move
   * it elsewhere (the block store adopting it as a clean block) and resolves
   * true when it did; otherwise, or when `take` fails, the file is deleted.
   * Resolves to what `take` said. Nothing happens (false) for an inode
   * without a working file.
   */
  async removeInto(ino: number, take: (path: string) => Promise<boolean>): Promise<boolean> {
    checkIno(ino);
    return this.exclusive(ino, async () => {
      if (!this.known.has(ino)) return false;
      const file = this.live.get(ino);
      this.live.delete(ino);
      if (file !== undefined) await file.finish(false);
      this.forgetRow(ino);
      const taken = await take(this.pathOf(ino)).catch(() => false);
      if (!taken) await this.unlinkFile(ino);
      return taken;
    });
  }

  list(): number[] {
    return [...this.known].sort((a, b) => a - b);
  }

  /** Closes every open working file (syncing changed ones): for unmount. */
  async closeAll(): Promise<void> {
    await Promise.all([...this.live.keys()].map((ino) => this.exclusive(ino, () => this.finishLive(ino))));
  }

  /** WorkingFileOwner: records a synced state. */
  persist(ino: number, size: number, ranges: Array<[number, number]>): void {
    try {
      this.sql.upsert.run(ino, size, JSON.stringify(ranges), Date.now());
      this.rows.add(ino);
    } catch (err) {
      // The cache disk is full (SQLITE_FULL: ENOSPC) or the database failed (EIO).
      const code = fromSqliteError(err, this.pathOf(ino)).code;
      throw new FsError(code, `cannot record working file of inode ${ino}: ${String(err)}`, { path: this.pathOf(ino), op: 'sync', cause: err });
    }
  }

  /** WorkingFileOwner: the last close of `file`; finishes it unless it was opened again meanwhile. */
  released(file: LocalWorkingFile): Promise<void> {
    return this.exclusive(file.ino, async () => {
      if (this.live.get(file.ino) !== file || file.openCount > 0) return;
      await this.finishLive(file.ino);
    });
  }

  private async finishLive(ino: number): Promise<void> {
    const file = this.live.get(ino);
    if (file === undefined) return;
    this.live.delete(ino);
    await file.finish(true);
  }

  /** Deletes the row of a working file that is going away (when it has one). */
  private forgetRow(ino: number): void {
    if (this.rows.delete(ino)) this.sql.remove.run(ino);
    this.known.delete(ino);
  }

  private async unlinkFile(ino: number): Promise<void> {
    try {
      await unlink(this.pathOf(ino));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw fromSystemError(err, { path: this.pathOf(ino), op: 'remove' });
    }
  }

  private async load(ino: number, initialSize: number): Promise<LocalWorkingFile> {
    const path = this.pathOf(ino);
    const row = this.rows.has(ino) ? this.sql.get.get(ino) : undefined;
    let handle: FileHandle | undefined;
    try {
      if (row !== undefined) {
        handle = await open(path, 'r+').catch((err: NodeJS.ErrnoException) => {
          if (err.code === 'ENOENT') return undefined;
          throw err;
        });
        if (handle !== undefined) {
          const held = IntervalSet.from(JSON.parse(row.ranges) as Array<[number, number]>);
          // The file may be longer (unsynced writes) or shorter (lost extension): make it the recorded size.
          if ((await handle.stat()).size !== row.size) await handle.truncate(row.size);
          return new LocalWorkingFile(ino, path, handle, row.size, held, this);
        }
      }
      // 'w+' creates the file empty (or empties a leftover): only a bigger initial size needs a truncate.
      handle = await open(path, 'w+');
      if (initialSize > 0) await handle.truncate(initialSize);
      // Unsynced from the start: its first sync or last close records its row.
      return new LocalWorkingFile(ino, path, handle, initialSize, new IntervalSet(), this, true);
    } catch (err) {
      await handle?.close().catch(() => undefined);
      throw fromSystemError(err, { path, op: 'open working file' });
    }
  }

  /** Runs `task` after every earlier task of the same inode. */
  private exclusive<T>(ino: number, task: () => Promise<T>): Promise<T> {
    const previous = this.locks.get(ino) ?? Promise.resolve();
    const result = previous.then(task);
    const tail = result.catch(() => undefined);
    this.locks.set(ino, tail);
    void tail.then(() => {
      if (this.locks.get(ino) === tail) this.locks.delete(ino);
    });
    return result;
  }

  private reconcile(db: Database): void {
    mkdirSync(this.root, { recursive: true });
    const files = new Set(readdirSync(this.root).filter((name) => /^[1-9][0-9]*$/.test(name)));
    const rows = db.prepare<number>('SELECT ino FROM working_files').pluck().all();
    for (const ino of rows) {
      if (files.delete(String(ino))) {
        this.known.add(ino);
        this.rows.add(ino);
      } else {
        this.sql.remove.run(ino);
      }
    }
    for (const orphan of files) unlinkSync(join(this.root, orphan));
  }

  heldBytes(ino: number): number {
    const open = this.live.get(ino);
    if (open !== undefined) return open.bytesHeld;
    if (!this.known.has(ino)) return 0;
    const row = this.sql.get.get(ino);
    if (row === undefined) return 0;
    try {
      return IntervalSet.from(JSON.parse(row.ranges) as Array<[number, number]>).total;
    } catch {
      return 0; // unreadable ranges: nothing counts as held (as open() would find)
    }
  }

  private pathOf(ino: number): string {
    return join(this.root, String(ino));
  }
}

function checkIno(ino: number): void {
  if (!Number.isSafeInteger(ino) || ino <= 0) throw new FsError('EINVAL', `invalid inode number ${ino}`);
}
