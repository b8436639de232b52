import { statfs } from 'node:fs/promises';
import { FsError } from '../../core/errors.js';
import type { ContentLogger } from './options.js';

/** How often, at most, the budget logs that writers are being refused. */
const WARN_INTERVAL_MS = 10_000;

/** A free-space reading of the cache disk is trusted this long (ms)... */
const STATFS_MAX_AGE_MS = 500;

/** Room kept free on the cache disk for the database and block records: 2% of the disk, within these bounds. */
const MIN_HEADROOM = 8 << 20; // SQLite's WAL alone grows to ~4 MiB between checkpoints
const MAX_HEADROOM = 64 << 20;

/**
 * The cache's room for dirty data: bytes held by working files (written,
 * not uploaded yet), which can never be evicted. Writers that would grow it
 * past `limit` get ENOSPC, so a full cache refuses new data rather than
 * losing any; the refusal is logged (at most every 10 s) so the operator
 * learns why. Uploads shrink it again. A limit of 0 means no limit.
 *
 * The cache disk itself may fill first (other files on it, or a limit larger
 * than the disk): ensureDiskRoom refuses growth that would leave less than a
 * small headroom free, so the index can still record finished uploads, which
 * is what frees space again. Without that room a full disk would deadlock:
 * an upload can only drop its working file after the index recorded it.
 */
export class DirtyBudget {
  private readonly held = new Map<number, number>();
  private sum = 0;
  private lastWarnMs = 0;

  private disk: { atMs: number; free: number; headroom: number } | undefined;

  /** `cacheDir`: a folder on the cache disk, for free-space readings (none: no disk check). */
  constructor(
    readonly limit: number,
    private readonly logger: ContentLogger,
    private readonly cacheDir?: string,
  ) {}

  /**
   * Throws ENOSPC when writing `growth` more bytes would leave the cache disk
   * with less than its headroom free. Reads the free space at most every
   * 500 ms, counting the growth it allowed since.
   */
  async ensureDiskRoom(growth: number, what: string): Promise<void> {
    if (this.cacheDir === undefined || growth <= 0) return;
    const now = Date.now();
    if (this.disk === undefined || now - this.disk.atMs > STATFS_MAX_AGE_MS || this.disk.free - growth < this.disk.headroom) {
      const stats = await statfs(this.cacheDir).catch(() => undefined);
      if (stats === undefined) return; // no reading: the write itself will tell
      const size = stats.blocks * stats.bsize;
      const headroom = Math.min(MAX_HEADROOM, Math.max(MIN_HEADROOM, Math.floor(size * 0.02)));
      this.disk = { atMs: now, free: stats.bavail * stats.bsize, headroom };
    }
    if (this.disk.free - growth >= this.disk.headroom) {
      this.disk.free -= growth;
      return;
    }
    this.refuse(
      `${what}: the cache disk is full (${this.disk.free} bytes free, ${this.disk.headroom} kept for the index); ` +
        'writes fail with ENOSPC until uploads free space (see storaged status)',
      { free: this.disk.free, headroom: this.disk.headroom, asked: growth },
    );
  }

  /** Dirty bytes of every inode. */
  get total(): number {
    return this.sum;
  }

  /** Records that `ino` now holds `bytes` dirty bytes (0 forgets it). */
  set(ino: number, bytes: number): void {
    this.sum += bytes - (this.held.get(ino) ?? 0);
    if (bytes > 0) this.held.set(ino, bytes);
    else this.held.delete(ino);
  }

  /**
   * Throws ENOSPC when `growth` more dirty bytes would pass the limit.
   * `what` names the write for the message.
   */
  check(growth: number, what: string): void {
    if (this.limit <= 0 || growth <= 0 || this.sum + growth <= this.limit) return;
    this.refuse(
      `${what}: the cache is full of data not uploaded yet (${this.sum} of ${this.limit} bytes, ${growth} more asked); ` +
        'writes fail with ENOSPC until uploads free space (see storaged status)',
      { dirtyBytes: this.sum, limit: this.limit, asked: growth },
    );
  }

  private refuse(message: string, details: object): never {
    const now = Date.now();
    if (now - this.lastWarnMs >= WARN_INTERVAL_MS) {
      this.lastWarnMs = now;
      this.logger.warn(details, 'cache full: refusing writes (ENOSPC)');
    }
    throw new FsError('ENOSPC', message, { op: 'write' });
  }
}
