import { FsError } from '../../core/errors.js';
import type { StorageDriver } from '../../drivers/types.js';
import type { MetadataIndex } from '../meta/types.js';
import type { Ino } from '../vfs/types.js';
import type { CleanBinding, Epochs } from './binding.js';
import type { ContentLogger } from './options.js';
import type { CleanSource } from './types.js';

/** What a CleanVersion needs. */
export interface CleanVersionDeps {
  driver: StorageDriver;
  index: MetadataIndex;
  epochs: Epochs;
  logger: ContentLogger;
}

/**
 * Which backend version a file's clean content is (its CleanBinding), and
 * how that changes: rebinding to what the index reports, invalidation, a
 * lookup of the current version after an invalidation, a commit's new
 * version. Every method that changes the version returns true so the caller
 * can forget what it derived from the old one (read-ahead, content hash).
 */
export class CleanVersion {
  private current: CleanBinding | undefined;
  /** Set by invalidate() on clean content: the source must be looked up again before use. */
  private stale = false;
  private refreshing: Promise<boolean> | undefined;

  constructor(
    private readonly ino: Ino,
    source: CleanSource | undefined,
    private readonly deps: CleanVersionDeps,
  ) {
    if (source !== undefined) this.current = { ino, source: { ...source }, epoch: deps.epochs.current(ino) };
  }

  /** The clean version; undefined for a file never uploaded. */
  get binding(): CleanBinding | undefined {
    return this.current;
  }

  /** Bytes of the clean content (0 when there is none). */
  get size(): number {
    return this.current?.source.size ?? 0;
  }

  /**
   * Binds to the version the index reports. The same version (etag and size)
   * under another key only updates the key. A different version replaces
   * the binding of clean content (its block map is dropped); `dirty` content
   * keeps its own (the conflict is for the sync layer). An undefined source
   * never replaces a known one.
   */
  rebind(source: CleanSource | undefined, dirty: boolean): boolean {
    const current = this.current;
    if (source === undefined) return false;
    this.stale = false;
    if (current !== undefined && current.source.etag === source.etag && current.source.size === source.size) {
      if (current.source.key !== source.key) this.current = { ...current, source: { ...current.source, key: source.key } };
      return false;
    }
    if (current !== undefined && dirty) {
      this.deps.logger.warn({ ino: this.ino, key: source.key, etag: source.etag }, 'remote version changed while the file has local changes: keeping them');
      return false;
    }
    const epoch = this.deps.epochs.bump(this.ino);
    if (current !== undefined) this.deps.index.clearBlocks(this.ino);
    this.current = { ino: this.ino, source: { ...source }, epoch };
    return true;
  }

  /**
   * The backend version changed: fetches now belong to `epoch` (the caller
   * cleared the block map). Clean content no longer trusts its source until
   * refreshIfStale() looked it up or rebind() was told the new one.
   */
  invalidate(epoch: number, dirty: boolean): void {
    if (this.current === undefined) return;
    this.current = { ...this.current, epoch };
    if (!dirty) this.stale = true;
  }

  /** After invalidate(): binds to the version the backend has now (one driver.stat, shared by concurrent callers). */
  async refreshIfStale(dirty: boolean): Promise<boolean> {
    if (!this.stale) return false;
    this.refreshing ??= this.refresh(dirty).finally(() => {
      this.refreshing = undefined;
    });
    return this.refreshing;
  }

  /** A commit uploaded a new version (its blocks are recorded for the new epoch). */
  replace(source: CleanSource): void {
    this.current = { ino: this.ino, source: { ...source }, epoch: this.deps.epochs.bump(this.ino) };
    this.stale = false;
  }

  /** The file was deleted: no clean version any more. */
  clear(): void {
    this.current = undefined;
    this.stale = false;
  }

  private async refresh(dirty: boolean): Promise<boolean> {
    const before = this.current;
    if (before === undefined) return false;
    const { key } = before.source;
    const stat = await this.deps.driver.stat(key);
    if (stat.type !== 'file') throw new FsError('ENOENT', `read '${key}': no longer a file on the backend`, { path: key, op: 'read' });
    // open() or a commit may have rebound the content meanwhile: their version wins.
    if (!this.stale || this.current !== before) return false;
    return this.rebind(stat.etag === undefined ? { key, size: stat.size } : { key, etag: stat.etag, size: stat.size }, dirty);
  }
}
