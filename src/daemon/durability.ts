import { open, type FileHandle } from 'node:fs/promises';
import { fromSystemError } from '../core/errors.js';

/**
 * Makes what was committed so far durable on the cache disk: fsyncs the
 * SQLite write-ahead log (the database runs with synchronous=NORMAL, so a
 * commit reaches the WAL but is not fsynced) and the working-file folder
 * (new working files' directory entries), both off the event loop.
 *
 * Group commit: a barrier() call waits for a sync that starts after it was
 * called; callers arriving while one runs share the next one. One sync
 * costs about two fsyncs, however many callers it serves.
 */
export class DurabilityBarrier {
  private running: Promise<void> | undefined;
  private next: Promise<void> | undefined;
  private wal: FileHandle | undefined;
  private folder: FileHandle | undefined;

  /** `walFile`: the database's `-wal` file; `folder`: the working-file folder. */
  constructor(
    private readonly walFile: string,
    private readonly folderPath: string,
  ) {}

  /** Resolves when everything committed before the call is on disk; rejects EIO-style when an fsync fails. */
  barrier(): Promise<void> {
    if (this.running === undefined) return this.begin();
    this.next ??= this.running.then(
      () => this.begin(),
      () => this.begin(),
    );
    return this.next;
  }

  /** Closes the file handles it keeps open. */
  async close(): Promise<void> {
    await this.running?.catch(() => undefined);
    await this.next?.catch(() => undefined);
    await Promise.all([this.wal?.close(), this.folder?.close()].map((p) => p?.catch(() => undefined)));
    this.wal = this.folder = undefined;
  }

  private begin(): Promise<void> {
    this.next = undefined;
    const run = this.syncBoth().finally(() => {
      if (this.running === run) this.running = undefined;
    });
    this.running = run;
    return run;
  }

  private async syncBoth(): Promise<void> {
    try {
      this.wal ??= await open(this.walFile, 'r');
      this.folder ??= await open(this.folderPath, 'r');
      await Promise.all([this.wal.sync(), this.folder.sync()]);
    } catch (err) {
      // A handle that failed is reopened next time (the WAL file may have been recreated).
      await this.wal?.close().catch(() => undefined);
      this.wal = undefined;
      throw fromSystemError(err, { path: this.walFile, op: 'fsync' });
    }
  }
}
