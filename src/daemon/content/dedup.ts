import { isFsError } from '../../core/errors.js';
import type { StorageDriver } from '../../drivers/types.js';
import type { MetadataIndex } from '../meta/types.js';
import type { Ino } from '../vfs/types.js';
import type { ContentLogger } from './options.js';

/** Files below this size are uploaded as they are: a copy request saves nothing on them. */
export const DEDUP_MIN_BYTES = 64 * 1024;

/** Uploads remembered by content hash (the index learns of an upload only after the content layer finished it). */
const RECENT_UPLOADS = 1024;

/** Where an upload put some content. */
interface Uploaded {
  ino: Ino;
  key: string;
  etag?: string;
  size: number;
}

/** What deduplication saved since the mount started. */
export interface DedupStats {
  /** Files created by a server-side copy instead of an upload. */
  files: number;
  /** Bytes not uploaded. */
  bytesSaved: number;
  /** Upload time saved: those bytes at the measured upload speed, minus the copies' own time. */
  uploadMsSaved: number;
}

/** A server-side copy that stood in for an upload. */
export interface DedupCopy {
  /** The new object's version token, when the backend gives one. */
  etag?: string;
  /** The inode whose content was copied (its block map is the same content's). */
  source: Ino;
}

/**
 * Upload deduplication of one disk: before a file is uploaded, the sha256
 * of its content is looked up in the index; when a clean file of the disk
 * already holds the same bytes, the new object is made by a server-side copy
 * of that one (with the new file's own metadata), so identical content is
 * uploaded once per disk. Uploads of the same content at the same time wait
 * for the first one and then copy it.
 *
 * Safety: the source's remote version is checked before and after the copy;
 * if it changed (another writer replaced it meanwhile), the copy is not
 * trusted and the caller uploads the bytes after all.
 */
export class Deduplicator {
  readonly stats: DedupStats = { files: 0, bytesSaved: 0, uploadMsSaved: 0 };
  /** Uploads in progress by content hash (resolve, never reject, when done): a second upload of the same content waits for the first. */
  private readonly inFlight = new Map<string, Promise<void>>();
  /** The last uploads by content hash, oldest first (Map order). */
  private readonly recent = new Map<string, Uploaded>();
  /** Measured upload speed, bytes per ms (exponential average), for the time saved. */
  private bytesPerMs: number | undefined;

  constructor(
    private readonly driver: StorageDriver,
    private readonly index: MetadataIndex,
    private readonly logger: ContentLogger,
  ) {}

  /** True when uploads of `size` bytes go through dedup on this backend. */
  applies(size: number): boolean {
    return this.driver.capabilities.serverSideCopy && size >= DEDUP_MIN_BYTES;
  }

  /**
   * Runs `upload` for content `hash` unless it can be copied: waits for an
   * upload of the same content in progress, then tries a copy of a clean
   * file holding it to `key` with `metadata`. Resolves to the copy, or to
   * undefined after `upload` ran (the caller's normal path).
   */
  async copyOrUpload(
    ino: Ino,
    hash: string,
    size: number,
    key: string,
    metadata: Record<string, string>,
    upload: () => Promise<{ etag?: string }>,
    signal?: AbortSignal,
  ): Promise<DedupCopy | undefined> {
    for (let running = this.inFlight.get(hash); running !== undefined; running = this.inFlight.get(hash)) await running;
    // Claimed before the first await below: a second upload of this content now waits for this one.
    let release!: () => void;
    const claim = new Promise<void>((resolve) => (release = resolve));
    this.inFlight.set(hash, claim);
    try {
      const copied = await this.tryCopy(ino, hash, size, key, metadata, signal);
      if (copied) return copied;
      const started = Date.now();
      const { etag } = await upload();
      this.measure(size, Date.now() - started);
      this.remember(hash, { ino, key, size, ...(etag !== undefined ? { etag } : {}) });
      return undefined;
    } finally {
      this.inFlight.delete(hash);
      release();
    }
  }

  private remember(hash: string, uploaded: Uploaded): void {
    this.recent.delete(hash);
    this.recent.set(hash, uploaded);
    if (this.recent.size > RECENT_UPLOADS) this.recent.delete(this.recent.keys().next().value!);
  }

  /** A copy source for `hash`: a recent upload, else a clean file the index knows. */
  private sourceOf(hash: string, size: number, ino: Ino): Uploaded | undefined {
    const recent = this.recent.get(hash);
    if (recent !== undefined && recent.ino !== ino && recent.size === size) return recent;
    const node = this.index.findByContent(hash, size, ino);
    if (node?.remote === undefined) return undefined;
    return { ino: node.ino, key: this.index.pathOf(node.ino), size, ...(node.remote.etag !== undefined ? { etag: node.remote.etag } : {}) };
  }

  /** Records the speed of an upload that did not go through copyOrUpload. */
  measure(bytes: number, ms: number): void {
    if (bytes < DEDUP_MIN_BYTES || ms <= 0) return;
    const speed = bytes / ms;
    this.bytesPerMs = this.bytesPerMs === undefined ? speed : 0.7 * this.bytesPerMs + 0.3 * speed;
  }

  private async tryCopy(ino: Ino, hash: string, size: number, key: string, metadata: Record<string, string>, signal?: AbortSignal): Promise<DedupCopy | undefined> {
    const source = this.sourceOf(hash, size, ino);
    // Without a version token the copy could not be checked against a concurrent change of the source.
    if (source?.etag === undefined || source.key === key) return undefined;
    const from = source.key;
    const started = Date.now();
    try {
      const before = await this.driver.stat(from);
      if (before.size !== size || (source.etag !== undefined && before.etag !== source.etag)) return undefined;
      await this.driver.copy(from, key, { metadata, ...(signal ? { signal } : {}) });
      const after = await this.driver.stat(from);
      if (after.etag !== before.etag || after.lastModified.getTime() !== before.lastModified.getTime()) {
        this.logger.warn({ from, key }, 'dedup: the source changed during the copy; uploading the bytes instead');
        return undefined;
      }
      const copy = await this.driver.stat(key);
      if (copy.size !== size) return undefined;
      const ms = Date.now() - started;
      this.stats.files++;
      this.stats.bytesSaved += size;
      if (this.bytesPerMs !== undefined) this.stats.uploadMsSaved += Math.max(0, Math.round(size / this.bytesPerMs - ms));
      this.logger.debug({ from, key, size, ms }, 'dedup: created by a server-side copy');
      return { ...(copy.etag !== undefined ? { etag: copy.etag } : {}), source: source.ino };
    } catch (err) {
      signal?.throwIfAborted();
      // The source vanished or the copy failed: the upload carries the bytes.
      if (!isFsError(err, 'ENOENT')) this.logger.warn({ err, from, key }, 'dedup: server-side copy failed; uploading instead');
      return undefined;
    }
  }
}
