import { FsError, isFsError } from '../../core/errors.js';
import type { StorageDriver } from '../../drivers/types.js';
import type { BlockStore, WorkingFile, WorkingFiles } from '../cache/types.js';
import type { MetadataIndex } from '../meta/types.js';
import type { Ino } from '../vfs/types.js';
import { assembleRange, type ContentLayers } from './assemble.js';
import { blockCount, blockLength, type CleanBinding, type Epochs } from './binding.js';
import { uploadContent } from './commit.js';
import { hashContent, remoteMtime, sha256Hex, versionOf } from './version.js';
import type { Deduplicator, DedupCopy } from './dedup.js';
import type { DirtyBudget } from './dirty-budget.js';
import type { BlockFetcher } from './fetcher.js';
import { Mutex, ReadWriteLock } from './lock.js';
import type { ContentLogger } from './options.js';
import { canPromote, promoteOrPut } from './promote.js';
import { ReadAhead } from './read-ahead.js';
import { CleanVersion } from './clean-version.js';
import type { CleanSource, CommitOptions, Committed, FileContent } from './types.js';

/** Everything a FileContent shares with the other files of its disk. */
export interface ContentContext {
  driver: StorageDriver;
  index: MetadataIndex;
  blocks: BlockStore;
  working: WorkingFiles;
  fetcher: BlockFetcher;
  epochs: Epochs;
  /** Dirty bytes of the disk: writes check it (ENOSPC) and report their growth. */
  dirty: DirtyBudget;
  /** Upload deduplication of the disk. */
  dedup: Deduplicator;
  /** Waits until backend moves of the inode in flight are done (the content is then rebound); see ContentManager.setRelocator. */
  relocate?: (ino: Ino) => Promise<void>;
  blockSize: number;
  readAhead: number;
  fetchConcurrency: number;
  logger: ContentLogger;
  /** Called when a commit or discard that pinned the content ends (the manager may drop it). */
  unpinned(content: FileContentImpl): void;
  /** See ContentManagerOptions.promoteWorkingFile. */
  promoteWorkingFile?: (ino: Ino, hash: string, size: number) => Promise<boolean>;
}

/**
 * FileContent of one inode. Locking: write, truncate, commit and discard run
 * one at a time (a mutex), so writes wait for a running commit; reads share
 * a readers-writer lock that writes, truncates and the end of a commit take
 * exclusively, so a read never sees half of a mutation.
 */
export class FileContentImpl implements FileContent {
  /** Running commits and discards: the manager keeps the object while > 0. */
  pins = 0;
  private readonly version: CleanVersion;
  private working: WorkingFile | undefined;
  /** sha256 of the clean content, when known (after a commit). */
  private knownHash: string | undefined;
  private readonly mutations = new Mutex();
  private readonly access = new ReadWriteLock();
  private readonly readAhead: ReadAhead;

  constructor(
    readonly ino: Ino,
    source: CleanSource | undefined,
    private readonly ctx: ContentContext,
  ) {
    this.version = new CleanVersion(ino, source, ctx);
    this.readAhead = new ReadAhead({
      blockSize: ctx.blockSize,
      maxBytes: ctx.readAhead,
      concurrency: ctx.fetchConcurrency,
      fetch: (index) => this.prefetch(index),
      logger: ctx.logger,
    });
  }

  /** Reopens the working file left by an earlier FileContent or run, if any. */
  async attachWorking(): Promise<void> {
    if (this.working === undefined && this.ctx.working.exists(this.ino)) {
      this.working = await this.ctx.working.open(this.ino, this.cleanSize());
      this.ctx.dirty.set(this.ino, this.working.bytesHeld);
    }
  }

  size(): number {
    return this.working?.size ?? this.cleanSize();
  }

  isDirty(): boolean {
    return this.working !== undefined || this.binding === undefined;
  }

  /** Read-ahead fetches running or queued for this file. */
  pendingPrefetches(): number {
    return this.readAhead.pending;
  }

  /** Bytes the working file holds (0 when clean). */
  dirtyBytes(): number {
    return this.working?.bytesHeld ?? 0;
  }

  async read(offset: number, length: number): Promise<Buffer> {
    checkRange('read', this.ino, offset, length);
    try {
      return await this.readOnce(offset, length);
    } catch (err) {
      // The object moved under us (a rename's backend move is in flight): once it landed, read from where it is.
      if (!isFsError(err, 'ENOENT') || this.binding === undefined || this.ctx.relocate === undefined) throw err;
      await this.ctx.relocate(this.ino);
      return this.readOnce(offset, length);
    }
  }

  private async readOnce(offset: number, length: number): Promise<Buffer> {
    await this.refreshIfStale();
    return this.access.shared(async () => {
      const size = this.size();
      const end = Math.min(size, offset + length);
      if (end <= offset) return Buffer.alloc(0);
      if (this.binding !== undefined) {
        this.readAhead.observe(offset, end, blockCount(this.binding.source.size, this.ctx.blockSize));
      }
      return assembleRange(this.layers(), offset, end - offset);
    });
  }

  async write(offset: number, data: Buffer): Promise<void> {
    checkRange('write', this.ino, offset, data.length);
    if (data.length === 0) return;
    await this.mutate(async (working) => {
      // Growth of the dirty data: bytes past the end (a gap there becomes held zeros) and holes filled inside.
      const end = offset + data.length;
      const inside = Math.max(0, Math.min(end, working.size) - offset);
      const unheld = working.missing(offset, inside).reduce((sum, range) => sum + range.length, 0);
      const growth = Math.max(0, end - working.size) + unheld; // past the end (gap included) + holes inside
      this.ctx.dirty.check(growth, `write of ${data.length} bytes to inode ${this.ino}`);
      await this.ctx.dirty.ensureDiskRoom(growth, `write of ${data.length} bytes to inode ${this.ino}`);
      // Writing past the end: extend first, so the gap is held (zeros) and never taken from old clean bytes.
      if (offset > working.size) await working.truncate(offset);
      await working.write(offset, data);
    });
  }

  async truncate(size: number): Promise<void> {
    checkRange('truncate', this.ino, size, 0);
    if (this.working === undefined && size === this.cleanSize()) return;
    await this.mutate(async (working) => {
      this.ctx.dirty.check(size - working.size, `truncate of inode ${this.ino} to ${size} bytes`);
      await this.ctx.dirty.ensureDiskRoom(size - working.size, `truncate of inode ${this.ino} to ${size} bytes`);
      await working.truncate(size);
    });
  }

  async syncLocal(): Promise<void> {
    // Under the mutation lock: a commit finishing meanwhile removes the working file.
    await this.mutations.run(async () => {
      await this.working?.sync();
    });
  }

  async commit(key: string, metadata: Record<string, string>, options: CommitOptions = {}): Promise<Committed> {
    this.pins++;
    try {
      return await this.mutations.run(async () => {
        // A working file closed by a release that came first is still this file's dirty data.
        await this.attachWorking();
        await this.refreshIfStale();
        options.signal?.throwIfAborted();
        return this.isDirty() || options.force === true ? this.upload(key, metadata, options) : this.cleanVersion();
      });
    } finally {
      this.pins--;
      this.ctx.unpinned(this);
    }
  }

  /** Binds to the clean version the index reports (see CleanVersion.rebind). */
  rebind(source: CleanSource | undefined): void {
    if (this.version.rebind(source, this.working !== undefined)) this.forgetCleanState();
  }

  /**
   * The clean version changed on the backend: later fetches belong to
   * `epoch` (the manager cleared the block map). Clean content looks up the
   * current version (driver.stat) before its next read, write or commit,
   * unless an open() rebinds it sooner.
   */
  invalidate(epoch: number): void {
    this.version.invalidate(epoch, this.working !== undefined);
    this.forgetCleanState();
  }

  /** Deletes the working file and forgets the clean version (the file was deleted). */
  async discard(): Promise<void> {
    this.pins++;
    try {
      await this.mutations.run(() =>
        this.access.exclusive(async () => {
          this.working = undefined;
          this.ctx.dirty.set(this.ino, 0);
          this.version.clear();
          this.forgetCleanState();
          // remove() also ends the open working file object; closing it first would fsync data about to be deleted.
          if (this.ctx.working.exists(this.ino)) await this.ctx.working.remove(this.ino);
        }),
      );
    } finally {
      this.pins--;
      this.ctx.unpinned(this);
    }
  }

  /** Closes the working file (its data stays on the cache disk); for when no handle uses the content. */
  async closeWorking(): Promise<void> {
    await this.mutations.run(() =>
      this.access.exclusive(async () => {
        const working = this.working;
        this.working = undefined;
        await working?.close();
      }),
    );
  }

  private cleanSize(): number {
    return this.version.size;
  }

  private get binding(): CleanBinding | undefined {
    return this.version.binding;
  }

  private layers(working = this.working, binding = this.binding): ContentLayers {
    const { fetcher, blockSize, fetchConcurrency } = this.ctx;
    return { working, binding, fetcher, blockSize, concurrency: fetchConcurrency };
  }

  private forgetCleanState(): void {
    this.knownHash = undefined;
    this.readAhead.reset();
  }

  private async refreshIfStale(): Promise<void> {
    if (await this.version.refreshIfStale(this.working !== undefined)) this.forgetCleanState();
  }

  private async mutate(change: (working: WorkingFile) => Promise<void>): Promise<void> {
    await this.mutations.run(async () => {
      await this.refreshIfStale();
      await this.access.exclusive(async () => {
        this.working ??= await this.ctx.working.open(this.ino, this.cleanSize());
        try {
          await change(this.working);
        } finally {
          this.ctx.dirty.set(this.ino, this.working.bytesHeld);
          // Dirty data counts against the cache limit too: clean blocks make way for it.
          this.ctx.blocks.enforceLimit();
        }
      });
    });
  }

  private async prefetch(index: number): Promise<void> {
    const binding = this.binding;
    if (binding === undefined) return;
    const { blockSize } = this.ctx;
    const length = blockLength(index, binding.source.size, blockSize);
    if (length === 0) return;
    if (this.working !== undefined && this.working.missing(index * blockSize, length).length === 0) return;
    await this.ctx.fetcher.prefetch(binding, index);
  }

  /**
   * Uploads the content (dirty, or clean when forced), then makes it the
   * clean version (mutation lock held). Content the disk already holds is
   * copied on the server instead (Deduplicator).
   */
  private async upload(key: string, metadata: Record<string, string>, options: CommitOptions): Promise<Committed> {
    const { signal, record } = options;
    const size = this.size();
    // Dedup hashes the content first: only when it is all local (a file written whole), never at the price of a download.
    const local = this.working !== undefined && this.working.size === size && this.working.missing(0, size).length === 0;
    if (!local || !this.ctx.dedup.applies(size)) return this.uploadBytes(key, metadata, signal, record);
    const hash = await hashContent(this.layers(), size);
    let uploaded: Committed | undefined;
    const copy = await this.ctx.dedup.copyOrUpload(
      this.ino,
      hash,
      size,
      key,
      metadata,
      async () => {
        uploaded = await this.uploadBytes(key, metadata, signal, record);
        return uploaded.etag !== undefined ? { etag: uploaded.etag } : {};
      },
      signal,
    );
    return copy ? this.adoptCopy(key, hash, size, copy, record) : uploaded!;
  }

  /** After a server-side copy made the object: the copy is the clean version, with the source's block map (same bytes). */
  private async adoptCopy(key: string, hash: string, size: number, copy: DedupCopy, record: CommitOptions['record']): Promise<Committed> {
    const { index } = this.ctx;
    const committed: Committed = {
      ...(copy.etag !== undefined ? { etag: copy.etag } : {}),
      size,
      contentHash: hash,
      mtimeMs: await remoteMtime(this.ctx, key, copy.etag),
    };
    await this.access.exclusive(async () => {
      index.transaction(() => {
        index.clearBlocks(this.ino);
        for (const ref of index.blocks(copy.source)) index.setBlock(this.ino, ref);
        record?.(committed);
      });
      this.version.replace(copy.etag === undefined ? { key, size } : { key, etag: copy.etag, size });
      this.forgetCleanState();
      this.knownHash = hash;
      this.working = undefined;
      this.ctx.dirty.set(this.ino, 0);
      if (this.ctx.working.exists(this.ino)) await this.removeWorking();
    });
    return committed;
  }

  /** Streams the bytes to the backend (see upload). */
  private async uploadBytes(key: string, metadata: Record<string, string>, signal: AbortSignal | undefined, record: CommitOptions['record']): Promise<Committed> {
    const { driver, blockSize, index } = this.ctx;
    const layers = this.layers();
    const size = this.size();
    // A file that fits in one block and is held whole by its working file: that file becomes the block after the upload.
    const promotable = canPromote(this.ctx, this.working, size);
    let single: Buffer | undefined;
    const putBlock = promotable ? async (data: Buffer) => sha256Hex((single = data)) : (data: Buffer) => this.cacheBlock(data);
    const uploaded = await uploadContent({
      driver,
      putBlock,
      key,
      metadata,
      size,
      blockSize,
      readBlock: (block) => assembleRange(layers, block * blockSize, blockLength(block, size, blockSize)),
      lookahead: this.ctx.fetchConcurrency,
      ...(signal ? { signal } : {}),
    });
    const { result, refs, contentHash } = uploaded;
    const committed: Committed = {
      ...(result.etag !== undefined ? { etag: result.etag } : {}),
      size,
      contentHash,
      mtimeMs: await remoteMtime(this.ctx, key, result.etag),
    };
    await this.access.exclusive(async () => {
      // One transaction: the block map and the caller's record of the new version, before the working file goes.
      index.transaction(() => {
        index.clearBlocks(this.ino);
        for (const ref of refs) index.setBlock(this.ino, ref);
        record?.(committed);
      });
      this.version.replace(result.etag === undefined ? { key, size } : { key, etag: result.etag, size });
      this.forgetCleanState();
      this.knownHash = contentHash;
      this.working = undefined;
      this.ctx.dirty.set(this.ino, 0);
      // Neither rejects. A promoted block is in the store once this returns; until then no read runs (exclusive).
      if (promotable) await promoteOrPut(this.ctx, this.ino, refs[0]!.hash, single!);
      // A forced upload of clean content has no working file to remove.
      else if (this.ctx.working.exists(this.ino)) await this.removeWorking();
    });
    return committed;
  }

  /** Puts an uploaded block into the cache; a full cache disk only means it is not cached (undefined). */
  private async cacheBlock(data: Buffer): Promise<string | undefined> {
    try {
      return await this.ctx.blocks.put(data);
    } catch (err) {
      if (!isFsError(err, 'ENOSPC')) throw err;
      this.ctx.logger.warn({ ino: this.ino }, 'cache disk full: uploading a block without caching it');
      return undefined;
    }
  }

  /** Digest of the first `length` bytes when all of them are local; undefined otherwise (never downloads to find out). */
  async localHash(length = this.size(), algorithm: 'sha256' | 'md5' = 'sha256'): Promise<string | undefined> {
    const size = this.size();
    if (!Number.isSafeInteger(length) || length < 0 || length > size) return undefined;
    const local = this.working !== undefined && this.working.size === size && this.working.missing(0, length).length === 0;
    return local ? hashContent(this.layers(), length, algorithm) : undefined;
  }

  /** What a commit of clean content returns: its current version (hashing it when not known yet). */
  private async cleanVersion(): Promise<Committed> {
    const binding = this.binding!;
    const contentHash = this.knownHash ?? (await hashContent(this.layers(undefined, binding), binding.source.size));
    if (this.binding === binding) this.knownHash = contentHash;
    return { ...versionOf(binding.source), contentHash, mtimeMs: await remoteMtime(this.ctx, binding.source.key, binding.source.etag) };
  }

  private async removeWorking(): Promise<void> {
    try {
      await this.ctx.working.remove(this.ino);
    } catch (err) {
      // The content is on the backend and in the block map; a leftover working file only means a later re-upload.
      this.ctx.logger.warn({ err, ino: this.ino }, 'committed, but the working file could not be removed');
    }
  }
}

function checkRange(op: string, ino: Ino, offset: number, length: number): void {
  if (!Number.isSafeInteger(offset) || offset < 0 || !Number.isSafeInteger(length) || length < 0) {
    throw new FsError('EINVAL', `${op} of inode ${ino}: invalid offset ${offset} or length ${length}`, { op });
  }
}
