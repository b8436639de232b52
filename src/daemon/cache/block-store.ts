import { createHash } from 'node:crypto';
import { mkdir, rename, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FsError, fromSystemError } from '../../core/errors.js';
import type { Database, Statement } from '../db.js';
import { sweepBlockFolder } from './block-sweep.js';
import { OpenFiles } from './open-files.js';
import { TouchBatch } from './touch-batch.js';
import type { BlockStore } from './types.js';

/** Options of a FileBlockStore. */
export interface BlockStoreOptions {
  /** Largest block in bytes (config.mount.blockSize). */
  blockSize: number;
  /** Size limit of the stored blocks; above it, puts start a background eviction down to 90%. Unlimited when absent or 0. */
  maxBytes?: number;
  /** Block files kept open for reads (default DEFAULT_MAX_OPEN_FILES). */
  maxOpenFiles?: number;
  /** How long touches wait before they are written, ms (default 1000). */
  touchIntervalMs?: number;
  /** Clock for last-use times, ms (default Date.now; tests pass their own). */
  now?: () => number;
}

/** Fraction of maxBytes a background eviction brings the usage down to. */
export const EVICTION_LOW_WATER = 0.9;
/** Rows an eviction deletes per batch (one transaction, then their files are unlinked). */
const EVICTION_BATCH = 256;
const HASH_PATTERN = /^[0-9a-f]{64}$/;
/** Makes temporary names unique among every store of this process (the pid covers other processes). */
let tempCounter = 0;

/**
 * BlockStore of files under `<dir>/blocks/<first 2 hex>/<sha256 hex>`, each
 * recorded in the `blocks` table (see schema.ts; the caller migrates). A row
 * exists only while its file is complete: puts write a temporary file and
 * rename it into place before inserting the row; evictions delete the row
 * before unlinking. A row whose file went missing is dropped by the first
 * read that notices (ENOENT), and by sweep(). Reads keep recently used
 * block files open (OpenFiles): a block file never changes, and dropping
 * its row (eviction, a missing file) closes its descriptor.
 */
export class FileBlockStore implements BlockStore {
  readonly blockSize: number;
  private readonly maxBytes: number;
  private reserved: () => number = () => 0;
  private readonly root: string;
  private readonly touches: TouchBatch;
  private readonly now: () => number;
  private readonly sql: {
    has: Statement<number>;
    insert: Statement;
    remove: Statement<{ size: number }>;
    touch: Statement;
    oldest: Statement<{ hash: string; size: number }>;
    withPrefix: Statement<string>;
  };
  private bytes = 0;
  private count = 0;
  private closed = false;
  private readonly madeFolders = new Set<string>();
  /** Descriptors of recently read block files (block files never change: a descriptor stays valid until eviction). */
  private readonly files: OpenFiles;
  /** Puts writing a file, by hash: a second put of the same content waits for the first. */
  private readonly storing = new Map<string, Promise<void>>();
  /** Evicted blocks whose file is being unlinked: a put of the same content waits for it. */
  private readonly unlinking = new Map<string, Promise<void>>();
  private evictions: Promise<unknown> = Promise.resolve();
  private readonly background = new Set<Promise<void>>();
  private evictionQueued = false;
  /** The last failure of a background eviction or sweep (they never reject into callers). */
  lastBackgroundError: unknown;

  constructor(
    private readonly db: Database,
    dir: string,
    options: BlockStoreOptions,
  ) {
    if (!Number.isSafeInteger(options.blockSize) || options.blockSize <= 0) {
      throw new FsError('EINVAL', `block size must be a positive integer, got ${options.blockSize}`);
    }
    this.blockSize = options.blockSize;
    this.maxBytes = options.maxBytes ?? 0;
    this.root = join(dir, 'blocks');
    this.now = options.now ?? Date.now;
    this.files = new OpenFiles(options.maxOpenFiles);
    this.sql = {
      has: db.prepare<number>('SELECT 1 FROM blocks WHERE hash = ?').pluck(),
      insert: db.prepare('INSERT OR IGNORE INTO blocks (hash, size, last_used_ms) VALUES (?, ?, ?)'),
      remove: db.prepare('DELETE FROM blocks WHERE hash = ? RETURNING size'),
      touch: db.prepare('UPDATE blocks SET last_used_ms = ? WHERE hash = ?'),
      oldest: db.prepare('SELECT hash, size FROM blocks ORDER BY last_used_ms, hash LIMIT ?'),
      withPrefix: db.prepare<string>('SELECT hash FROM blocks WHERE hash >= ? AND hash < ?').pluck(),
    };
    const totals = db.prepare<{ n: number; total: number }>('SELECT count(*) AS n, coalesce(sum(size), 0) AS total FROM blocks').get();
    this.count = totals?.n ?? 0;
    this.bytes = totals?.total ?? 0;
    const write = db.transaction((batch: ReadonlyMap<string, number>) => {
      for (const [hash, ms] of batch) this.sql.touch.run(ms, hash);
    });
    this.touches = new TouchBatch((batch) => write(batch), options.touchIntervalMs ?? 1000, this.now);
  }

  has(hash: string): boolean {
    return HASH_PATTERN.test(hash) && !this.closed && this.sql.has.get(hash) !== undefined;
  }

  async read(hash: string, offset: number, length: number): Promise<Buffer> {
    const path = this.pathOf(hash);
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0) {
      throw new FsError('EINVAL', `invalid range ${offset}+${length} of block ${hash}`, { path, op: 'read' });
    }
    const buffer = Buffer.allocUnsafe(length);
    let filled;
    try {
      filled = await this.files.read(hash, path, buffer, 0, length, offset);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') this.dropRow(hash);
      throw fromSystemError(err, { path, op: 'read block' });
    }
    this.touch(hash);
    return filled === length ? buffer : buffer.subarray(0, filled);
  }

  async put(data: Buffer): Promise<string> {
    this.assertOpen();
    if (data.length > this.blockSize) {
      throw new FsError('EINVAL', `block of ${data.length} bytes exceeds the block size ${this.blockSize}`, { op: 'put block' });
    }
    const hash = createHash('sha256').update(data).digest('hex');
    const running = this.storing.get(hash);
    if (running !== undefined) {
      await running;
      return hash;
    }
    if (this.sql.has.get(hash) !== undefined) {
      this.touch(hash);
      return hash;
    }
    await this.storeOnce(hash, data.length, (path, temp) => writeFile(temp, data).then(() => rename(temp, path)));
    return hash;
  }

  /**
   * Moves `file` (complete, on the cache's file system: `size` bytes whose
   * sha256 hex is `hash`, which the caller vouches for) into the store as
   * that block, by a rename. False, with the file where it was, when the
   * block is stored or being stored already, the store is closed, or the
   * move fails.
   */
  async adopt(file: string, hash: string, size: number): Promise<boolean> {
    if (this.closed || !HASH_PATTERN.test(hash) || !(size >= 0 && size <= this.blockSize)) return false;
    if (this.storing.has(hash) || this.sql.has.get(hash) !== undefined) return false;
    try {
      await this.storeOnce(hash, size, (path) => rename(file, path));
      return true;
    } catch {
      return false;
    }
  }

  touch(hash: string): void {
    if (!this.closed) this.touches.touch(hash);
  }

  usage(): { bytes: number; blocks: number } {
    return { bytes: this.bytes, blocks: this.count };
  }

  /** Evictions run one at a time, in call order. */
  evict(targetBytes: number): Promise<number> {
    const run = this.evictions.then(() => this.evictDown(Math.max(0, targetBytes)));
    this.evictions = run.catch(() => undefined);
    return run;
  }

  /**
   * Removes what a crash can leave behind: temporary files, block files
   * without a row (their size is not counted, so they would leak) and rows
   * whose file is gone. Reads one prefix folder at a time; safe while the
   * store is in use. Runs in the background when started by openBlockCache.
   */
  async sweep(): Promise<void> {
    for (let prefix = 0; prefix < 256 && !this.closed; prefix++) {
      const name = prefix.toString(16).padStart(2, '0');
      await sweepBlockFolder(join(this.root, name), {
        isBusy: (hash) => this.storing.has(hash) || this.unlinking.has(hash),
        // Hex digits sort below 'g': [aa, aag) is every hash starting with aa.
        rowsWithPrefix: () => (this.closed ? undefined : this.sql.withPrefix.all(name, `${name}g`)),
        // Once closed, nothing is deleted as an orphan.
        hasRow: (hash) => this.closed || this.has(hash),
        dropRow: (hash) => this.dropRow(hash),
      });
    }
  }

  /** Starts `task` in the background (sweep, eviction); whenIdle waits for it. */
  runInBackground(task: () => Promise<unknown>): void {
    const running: Promise<void> = task().then(
      () => undefined,
      (err: unknown) => {
        this.lastBackgroundError = err;
      },
    );
    this.background.add(running);
    void running.finally(() => this.background.delete(running));
  }

  /** Resolves when no background sweep or eviction is running (for tests and shutdown). */
  async whenIdle(): Promise<void> {
    while (this.background.size > 0) await Promise.all(this.background);
    await this.evictions;
  }

  /** Writes pending touches now (normally done every touchIntervalMs). */
  flushTouches(): void {
    if (!this.closed) this.touches.flush();
  }

  close(): void {
    if (this.closed) return;
    this.touches.flush();
    this.touches.stop();
    this.files.closeAll();
    this.closed = true;
  }

  /** Stores a block not stored yet (`place` puts its file at `path`, possibly through `temp`), one store per hash at a time. */
  private async storeOnce(hash: string, size: number, place: (path: string, temp: string) => Promise<void>): Promise<void> {
    const store = this.store(hash, size, place).finally(() => this.storing.delete(hash));
    this.storing.set(hash, store);
    await store;
    this.enforceLimit();
  }

  private async store(hash: string, size: number, place: (path: string, temp: string) => Promise<void>): Promise<void> {
    await this.unlinking.get(hash);
    const folder = join(this.root, hash.slice(0, 2));
    const path = join(folder, hash);
    const temp = join(folder, `.${hash}.${process.pid}.${++tempCounter}.tmp`);
    try {
      if (!this.madeFolders.has(folder)) {
        await mkdir(folder, { recursive: true });
        this.madeFolders.add(folder);
      }
      await place(path, temp);
    } catch (err) {
      await unlink(temp).catch(() => undefined);
      throw fromSystemError(err, { path, op: 'put block' });
    }
    // Closed meanwhile: the file stays without a row; the next sweep removes it.
    if (this.closed) return;
    if (this.sql.insert.run(hash, size, this.now()).changes === 1) {
      this.bytes += size;
      this.count += 1;
    }
  }

  /**
   * Makes room for data the store does not hold but the same cache limit
   * covers (dirty working files): clean blocks are kept within maxBytes
   * minus `reserved()` bytes.
   */
  setReserved(reserved: () => number): void {
    this.reserved = reserved;
  }

  /** Starts a background eviction down to 90% of the room left (maxBytes minus reserved) when usage is above it (puts and writes call this). */
  enforceLimit(): void {
    if (this.maxBytes <= 0 || this.evictionQueued) return;
    const room = Math.max(0, this.maxBytes - this.reserved());
    if (this.bytes <= room) return;
    this.evictionQueued = true;
    this.runInBackground(() =>
      this.evict(Math.floor(room * EVICTION_LOW_WATER)).finally(() => {
        this.evictionQueued = false;
      }),
    );
  }

  private async evictDown(targetBytes: number): Promise<number> {
    let freed = 0;
    while (!this.closed && this.bytes > targetBytes) {
      // Pending touches first, so blocks used since the last flush are not taken for old ones.
      this.touches.flush();
      const victims: string[] = [];
      this.db.transaction(() => {
        for (const row of this.sql.oldest.all(EVICTION_BATCH)) {
          if (this.bytes <= targetBytes) break;
          freed += this.dropRow(row.hash);
          victims.push(row.hash);
        }
      })();
      if (victims.length === 0) break;
      await Promise.all(victims.map((hash) => this.unlinkFile(hash)));
    }
    return freed;
  }

  private async unlinkFile(hash: string): Promise<void> {
    const path = this.pathOf(hash);
    const done = unlink(path).then(
      () => undefined,
      (err: NodeJS.ErrnoException) => {
        if (err.code !== 'ENOENT') this.lastBackgroundError = err;
      },
    );
    this.unlinking.set(hash, done);
    await done;
    if (this.unlinking.get(hash) === done) this.unlinking.delete(hash);
  }

  /** Deletes a block's row and returns the bytes it accounted for (0 when there was none). */
  private dropRow(hash: string): number {
    if (this.closed) return 0;
    this.touches.forget(hash);
    this.files.forget(hash);
    const row = this.sql.remove.get(hash);
    if (row === undefined) return 0;
    this.bytes -= row.size;
    this.count -= 1;
    return row.size;
  }

  private pathOf(hash: string): string {
    if (!HASH_PATTERN.test(hash)) throw new FsError('EINVAL', `'${hash}' is not a sha256 hex block hash`, { path: hash });
    return join(this.root, hash.slice(0, 2), hash);
  }

  private assertOpen(): void {
    if (this.closed) throw new FsError('EIO', `block store at '${this.root}' is closed`, { path: this.root });
  }
}
