import { isFsError } from '../../core/errors.js';
import type { StorageDriver } from '../../drivers/types.js';
import type { BlockStore } from '../cache/types.js';
import type { BlockRef, MetadataIndex } from '../meta/types.js';
import { blockLength, type CleanBinding, type Epochs } from './binding.js';
import type { ContentLogger } from './options.js';
import { readExactly } from './streams.js';

/** A block just fetched from the backend. */
interface FetchedBlock {
  data: Buffer;
}

/** What a BlockFetcher works with. */
export interface BlockFetcherDeps {
  driver: StorageDriver;
  index: MetadataIndex;
  blocks: BlockStore;
  blockSize: number;
  epochs: Epochs;
  logger: ContentLogger;
}

/**
 * Clean content by block, for every file of one disk: a block comes from the
 * block store when the index's block map names it and the store still has
 * it (a touch records the use), else from the backend as one ranged read of
 * exactly that block. A fetched block is stored (blocks.put) and recorded in
 * the block map (index.setBlock) unless its binding's epoch has passed.
 * Concurrent requests for the same block of the same epoch share one fetch.
 */
export class BlockFetcher {
  private readonly inflight = new Map<string, Promise<FetchedBlock>>();

  constructor(private readonly deps: BlockFetcherDeps) {}

  /**
   * Bytes [from, to) of clean block `index` (relative to the block's start).
   * The result may be a view of a block just fetched that other readers share: never modify it.
   */
  async read(binding: CleanBinding, index: number, from: number, to: number): Promise<Buffer> {
    // The store is not asked first: a block file gone from it fails the read (ENOENT), which refetches.
    const ref = this.mappedRef(binding, index);
    if (ref !== undefined) {
      const bytes = await this.readStored(ref, from, to);
      if (bytes !== undefined) return bytes;
    }
    const fetched = await this.fetch(binding, index);
    return fetched.data.subarray(from, to);
  }

  /** Makes sure block `index` is in the cache (for read-ahead); a cached block costs no I/O. */
  async prefetch(binding: CleanBinding, index: number): Promise<void> {
    if (this.isCached(binding, index)) return;
    await this.fetch(binding, index);
  }

  /** True when block `index` is in the block map with the expected size and in the store. */
  isCached(binding: CleanBinding, index: number): boolean {
    return this.cachedRef(binding, index) !== undefined;
  }

  /** Backend fetches running now. */
  get running(): number {
    return this.inflight.size;
  }

  /** Resolves once every fetch started so far has settled. */
  async idle(): Promise<void> {
    while (this.inflight.size > 0) {
      await Promise.allSettled([...this.inflight.values()]);
    }
  }

  private cachedRef(binding: CleanBinding, index: number): BlockRef | undefined {
    const ref = this.mappedRef(binding, index);
    return ref !== undefined && this.deps.blocks.has(ref.hash) ? ref : undefined;
  }

  /** The block map's entry for block `index` when it has the expected size (the store may not have it any more). */
  private mappedRef(binding: CleanBinding, index: number): BlockRef | undefined {
    const expected = blockLength(index, binding.source.size, this.deps.blockSize);
    const ref = this.deps.index.block(binding.ino, index);
    return ref === undefined || ref.size !== expected ? undefined : ref;
  }

  /** Reads a stored block; undefined when it was evicted meanwhile or is short (then it is refetched). */
  private async readStored(ref: BlockRef, from: number, to: number): Promise<Buffer | undefined> {
    try {
      const bytes = await this.deps.blocks.read(ref.hash, from, to - from);
      this.deps.blocks.touch(ref.hash);
      if (bytes.length === to - from) return bytes;
      this.deps.logger.warn({ hash: ref.hash, got: bytes.length, wanted: to - from }, 'cached block is short: refetching');
    } catch (err) {
      if (!isFsError(err, 'ENOENT')) throw err;
    }
    return undefined;
  }

  private key(binding: CleanBinding, index: number): string {
    return `${binding.ino}:${binding.epoch}:${index}`;
  }

  private fetch(binding: CleanBinding, index: number): Promise<FetchedBlock> {
    const key = this.key(binding, index);
    const running = this.inflight.get(key);
    if (running !== undefined) return running;
    const started = this.fetchFromBackend(binding, index).finally(() => this.inflight.delete(key));
    this.inflight.set(key, started);
    return started;
  }

  private async fetchFromBackend(binding: CleanBinding, index: number): Promise<FetchedBlock> {
    const { driver, blockSize } = this.deps;
    const { key, size } = binding.source;
    const length = blockLength(index, size, blockSize);
    const stream = await driver.read(key, { range: { offset: index * blockSize, length } });
    const data = await readExactly(stream, length, key);
    await this.store(binding, index, data);
    return { data };
  }

  /** Puts the block into the cache and the block map; a cache failure is logged, not thrown (the data is served anyway). */
  private async store(binding: CleanBinding, index: number, data: Buffer): Promise<void> {
    try {
      const hash = await this.deps.blocks.put(data);
      if (this.deps.epochs.isCurrent(binding)) {
        this.deps.index.setBlock(binding.ino, { index, hash, size: data.length });
      }
    } catch (err) {
      this.deps.logger.warn({ err, ino: binding.ino, index }, 'fetched block not cached');
    }
  }
}
