import { FsError } from '../../core/errors.js';
import type { Ino } from '../vfs/types.js';
import { Epochs } from './binding.js';
import { Deduplicator, type DedupStats } from './dedup.js';
import { DirtyBudget } from './dirty-budget.js';
import { BlockFetcher } from './fetcher.js';
import { FileContentImpl, type ContentContext } from './file-content.js';
import { SILENT_LOGGER, type ContentManagerOptions } from './options.js';
import type { CleanSource, ContentManager, FileContent } from './types.js';

interface LiveContent {
  content: FileContentImpl;
  /** open() calls not yet matched by release(). */
  refs: number;
}

/** The ContentManager createContentManager returns, with one extra observation. */
export interface DiskContentManager extends ContentManager {
  /** Backend fetches running plus read-ahead fetches queued: 0 when the content layer is idle (status, tests). */
  pendingFetches(): number;
}

/**
 * Creates the ContentManager of one mounted disk over its driver, metadata
 * index (block map), block store and working files. Throws EINVAL for a
 * block size that is not a positive integer or exceeds the store's, or a
 * fetch concurrency below 1.
 */
export function createContentManager(options: ContentManagerOptions): DiskContentManager {
  const { blockSize, fetchConcurrency, readAhead, blocks } = options;
  if (!Number.isSafeInteger(blockSize) || blockSize <= 0 || blockSize > blocks.blockSize) {
    throw new FsError('EINVAL', `content block size ${blockSize} must be a positive integer of at most ${blocks.blockSize}`, { op: 'config' });
  }
  if (!Number.isSafeInteger(fetchConcurrency) || fetchConcurrency < 1) {
    throw new FsError('EINVAL', `fetch concurrency ${fetchConcurrency} must be an integer of at least 1`, { op: 'config' });
  }
  if (!(readAhead >= 0)) throw new FsError('EINVAL', `read-ahead ${readAhead} must be >= 0`, { op: 'config' });
  return new Manager(options);
}

/** See ContentManager: one FileContentImpl per inode while handles or commits use it. */
class Manager implements DiskContentManager {
  private readonly live = new Map<Ino, LiveContent>();
  private readonly opening = new Map<Ino, Promise<LiveContent>>();
  /** Contents being closed after their last release: a new open waits for it. */
  private readonly closing = new Map<Ino, Promise<void>>();
  /** Dirty bytes of every working file, open or not. */
  private readonly dirty: DirtyBudget;
  private readonly dedup: Deduplicator;
  private readonly epochs = new Epochs();
  private readonly fetcher: BlockFetcher;
  private readonly ctx: ContentContext;
  private closed = false;

  constructor(private readonly options: ContentManagerOptions) {
    const logger = options.logger ?? SILENT_LOGGER;
    const { driver, index, blocks, working, blockSize, readAhead, fetchConcurrency } = options;
    this.fetcher = new BlockFetcher({ driver, index, blocks, blockSize, epochs: this.epochs, logger });
    this.dirty = new DirtyBudget(options.dirtyLimit ?? 0, logger, options.cacheDir);
    this.dedup = new Deduplicator(driver, index, logger);
    // Working files left by the previous run count from the start.
    for (const ino of working.list()) this.dirty.set(ino, working.heldBytes(ino));
    this.ctx = {
      driver,
      index,
      blocks,
      working,
      blockSize,
      readAhead,
      fetchConcurrency,
      logger,
      fetcher: this.fetcher,
      epochs: this.epochs,
      dirty: this.dirty,
      dedup: this.dedup,
      unpinned: (content) => this.dropIfUnused(content.ino),
      ...(options.promoteWorkingFile !== undefined ? { promoteWorkingFile: options.promoteWorkingFile } : {}),
    };
  }

  async open(ino: Ino, source: CleanSource | undefined): Promise<FileContent> {
    if (this.closed) throw new FsError('EIO', `content of inode ${ino}: the content manager is closed`, { op: 'open' });
    const entry = await this.liveEntry(ino, source);
    entry.refs++;
    entry.content.rebind(source);
    return entry.content;
  }

  release(ino: Ino): void {
    const entry = this.live.get(ino);
    if (entry === undefined) return;
    entry.refs = Math.max(0, entry.refs - 1);
    this.dropIfUnused(ino);
  }

  async discard(ino: Ino): Promise<void> {
    const entry = this.live.get(ino) ?? (await this.opening.get(ino)?.catch(() => undefined));
    if (entry !== undefined) {
      await entry.content.discard();
    } else {
      await this.closing.get(ino);
      if (this.options.working.exists(ino)) await this.options.working.remove(ino);
    }
    this.epochs.bump(ino);
    this.options.index.clearBlocks(ino);
    this.dirty.set(ino, 0);
  }

  invalidate(ino: Ino): void {
    const epoch = this.epochs.bump(ino);
    this.options.index.clearBlocks(ino);
    this.live.get(ino)?.content.invalidate(epoch);
  }

  usage(): { bytes: number; blocks: number; dirtyBytes: number } {
    return { ...this.options.blocks.usage(), dirtyBytes: this.dirty.total };
  }

  setRelocator(relocate: (ino: Ino) => Promise<void>): void {
    this.ctx.relocate = relocate;
  }

  dedupStats(): DedupStats {
    return { ...this.dedup.stats };
  }

  pendingFetches(): number {
    let queued = 0;
    for (const { content } of this.live.values()) queued += content.pendingPrefetches();
    return this.fetcher.running + queued;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.allSettled([...this.opening.values()]);
    const contents = [...this.live.values()].map((entry) => entry.content);
    this.live.clear();
    await Promise.allSettled(contents.map((content) => content.closeWorking()));
    await Promise.allSettled([...this.closing.values()]);
    await this.fetcher.idle();
    this.options.blocks.close();
  }

  private async liveEntry(ino: Ino, source: CleanSource | undefined): Promise<LiveContent> {
    const existing = this.live.get(ino) ?? (await this.opening.get(ino));
    if (existing !== undefined) return existing;
    const pending = this.create(ino, source);
    this.opening.set(ino, pending);
    try {
      const entry = await pending;
      this.live.set(ino, entry);
      return entry;
    } finally {
      this.opening.delete(ino);
    }
  }

  private async create(ino: Ino, source: CleanSource | undefined): Promise<LiveContent> {
    await this.closing.get(ino);
    const content = new FileContentImpl(ino, source, this.ctx);
    await content.attachWorking();
    return { content, refs: 0 };
  }

  /** Drops an inode's content once no handle, commit or discard uses it; its working file is closed. */
  private dropIfUnused(ino: Ino): void {
    const entry = this.live.get(ino);
    if (entry === undefined || entry.refs > 0 || entry.content.pins > 0) return;
    this.live.delete(ino);
    const { content } = entry;
    const closing = content
      .closeWorking()
      .catch((err: unknown) => this.ctx.logger.warn({ err, ino }, 'closing a working file failed'))
      .finally(() => {
        if (this.closing.get(ino) === closing) this.closing.delete(ino);
      });
    this.closing.set(ino, closing);
  }
}
