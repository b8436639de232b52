import type { Readable } from 'node:stream';
import { isFsError } from '../../core/errors.js';
import type { FileStat } from '../../drivers/types.js';
import type { NodeRow, RemoteChild } from '../meta/types.js';
import { isSymlinkStat, remoteChildFromStat } from '../meta/posix-metadata.js';
import { saveOpenFiles } from './commit.js';
import type { VfsContext } from './context.js';
import { mapLimit } from './queues.js';
import { QUICK_RETRY, retryRequest } from './request-retry.js';
import type { Ino } from './types.js';

/** Longest symlink target read from the backend (PATH_MAX); a bigger "symlink" object stays a file. */
const MAX_SYMLINK_TARGET = 4096;
/**
 * Attempts at an awaited listing that keeps being disturbed by our own
 * (finished) writes before reconciling anyway; never while some of ours
 * are still pending there (see MutationTracker.busy).
 */
const AWAITED_ATTEMPTS = 4;

/**
 * Keeps directory entries in the index in step with the backend. A
 * directory never listed is listed before it is answered (the caller
 * waits); one listed longer ago than the refresh TTL is answered from the
 * index at once and listed again in the background. At most one listing per
 * directory runs at a time; callers share it. Each request of a listing
 * retries a few quick times (QUICK_RETRY) before the caller sees EIO.
 */
export class Refresher {
  private readonly running = new Map<Ino, Promise<boolean>>();

  constructor(private readonly ctx: VfsContext) {}

  /** Lists `dir` first when it was never listed (or when `fresh` is asked and it is stale); refreshes a stale one in the background. */
  async ensureListed(dir: Ino, options: { fresh?: boolean } = {}): Promise<void> {
    const listedAt = this.ctx.index.listedAt(dir);
    if (listedAt === undefined) return this.listNow(dir);
    if (Date.now() - listedAt < this.ctx.settings.refreshTtlMs) return;
    if (options.fresh) return this.listNow(dir);
    this.startBackground(dir);
  }

  /** Lists `dir` now and reconciles it, retrying while our own writes disturb the listing. */
  async listNow(dir: Ino): Promise<void> {
    // A shared listing started by someone else may not be forced; the loop then starts its own.
    for (let attempt = 1; attempt <= AWAITED_ATTEMPTS * 2; attempt++) {
      if (await this.once(dir, attempt >= AWAITED_ATTEMPTS)) return;
    }
  }

  /** Resolves when every listing in flight has finished (close()). */
  async idle(): Promise<void> {
    while (this.running.size > 0) await Promise.allSettled([...this.running.values()]);
  }

  private startBackground(dir: Ino): void {
    if (this.running.has(dir)) return;
    this.once(dir, false).catch((err: unknown) => {
      this.ctx.logger.warn({ err, dir, path: this.safePath(dir) }, 'background refresh of a directory failed');
    });
  }

  /** One listing of `dir`, shared by concurrent callers; true when it was reconciled. */
  private once(dir: Ino, force: boolean): Promise<boolean> {
    const running = this.running.get(dir);
    if (running) return running;
    const run = this.listAndReconcile(dir, force).finally(() => this.running.delete(dir));
    this.running.set(dir, run);
    return run;
  }

  private async listAndReconcile(dir: Ino, force: boolean): Promise<boolean> {
    const { ctx } = this;
    const path = ctx.index.pathOf(dir);
    // Our own journaled changes there are not on the backend yet: the index is the truth until they are.
    if (ctx.tracker.busy(path)) return true;
    const since = ctx.tracker.mark();
    const entries: FileStat[] = [];
    let cursor: string | undefined;
    do {
      const page = await retryRequest(() => ctx.driver.list(path, { recursive: false, ...(cursor !== undefined ? { cursor } : {}) }), undefined, QUICK_RETRY);
      entries.push(...page.entries);
      cursor = page.cursor;
    } while (cursor !== undefined);
    const children = await this.toRemoteChildren(dir, entries);
    if (ctx.closed) return true;
    const node = ctx.index.get(dir);
    if (!node || node.type !== 'directory' || ctx.index.pathOf(dir) !== path) return false; // moved or deleted meanwhile
    if (ctx.tracker.busy(path)) {
      ctx.logger.debug({ path }, 'refresh: changes of ours became pending there; listing discarded');
      return true;
    }
    if (!force && !ctx.tracker.quiet(path, since)) {
      ctx.logger.debug({ path }, 'refresh: listing overlapped our own changes, discarded');
      return false;
    }
    // Written data not yet saved must count as a local change, or the listing would take the file for clean.
    saveOpenFiles(ctx);
    const result = ctx.index.reconcileDirectory(dir, children, Date.now(), { keep: (ino) => ctx.handles.inUse(ino) });
    for (const ino of result.changed) ctx.content.invalidate(ino);
    if (result.conflicts.length > 0) ctx.logger.warn({ path, conflicts: result.conflicts }, 'refresh: changed remotely and locally; local version kept');
    if (result.added + result.updated + result.removed > 0) ctx.logger.debug({ path, ...result }, 'refresh: directory reconciled');
    return true;
  }

  /**
   * Converts listed entries. Objects whose listing carries no metadata (S3
   * lists none) are stat'ed for their POSIX attributes when they are new to
   * the index or changed; unchanged ones keep what the index has. Symlink
   * objects are read for their target.
   */
  private async toRemoteChildren(dir: Ino, entries: FileStat[]): Promise<RemoteChild[]> {
    const { ctx } = this;
    const wantsMetadata = ctx.driver.capabilities.metadata;
    const converted = await mapLimit(entries, ctx.settings.listConcurrency, async (entry): Promise<RemoteChild | undefined> => {
      if (entry.type === 'directory') return remoteChildFromStat(entry);
      const known = ctx.index.lookup(dir, entry.path.slice(entry.path.lastIndexOf('/') + 1));
      const unchanged = known?.remote !== undefined && entry.etag !== undefined && known.remote.etag === entry.etag;
      let stat = entry;
      if (wantsMetadata && entry.metadata === undefined) {
        if (unchanged) return { ...remoteChildFromStat(entry, known.type === 'symlink' ? known.target : undefined), ...knownAttributes(known) };
        try {
          stat = await retryRequest(() => ctx.driver.stat(entry.path), undefined, QUICK_RETRY);
        } catch (err) {
          if (isFsError(err, 'ENOENT')) return undefined; // deleted since the listing
          throw err;
        }
      }
      if (!isSymlinkStat(stat)) return remoteChildFromStat(stat);
      if (unchanged && known.type === 'symlink' && known.target !== undefined) return remoteChildFromStat(stat, known.target);
      const target = stat.size <= MAX_SYMLINK_TARGET ? await readSmall(ctx, stat.path) : undefined;
      return remoteChildFromStat(stat, target);
    });
    return converted.filter((child): child is RemoteChild => child !== undefined);
  }

  private safePath(dir: Ino): string | undefined {
    try {
      return this.ctx.index.pathOf(dir);
    } catch {
      return undefined;
    }
  }
}

/** The attributes the index already has for an unchanged object (so a metadata-less listing does not reset them). */
function knownAttributes(node: NodeRow): Partial<RemoteChild> {
  return { mode: node.mode, uid: node.uid, gid: node.gid, mtimeNs: node.mtimeNs };
}

/** The whole (small) content of an object as UTF-8; undefined when it vanished. */
async function readSmall(ctx: VfsContext, path: string): Promise<string | undefined> {
  let stream: Readable;
  try {
    stream = await retryRequest(() => ctx.driver.read(path), undefined, QUICK_RETRY);
  } catch (err) {
    if (isFsError(err, 'ENOENT')) return undefined;
    throw err;
  }
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of stream) {
    const buffer = chunk as Buffer;
    total += buffer.length;
    if (total > MAX_SYMLINK_TARGET) {
      stream.destroy();
      return undefined;
    }
    chunks.push(buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}
