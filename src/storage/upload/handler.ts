import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { FsError, fromSystemError, isFsError, type FsErrorCode } from '../../core/errors.js';
import { normalizeKey } from '../../core/paths.js';
import type { EncodedImage } from '../../processing/images/index.js';
import type { Disk } from '../disk.js';
import { Storage, type StorageManager } from '../manager.js';
import { resolveUploadConfig, type ResolvedUploadConfig, type UploadConfig } from './config.js';
import { UploadRejectedError, type UploadRejectionRule } from './errors.js';
import { applyImageSteps, isProcessableImage, makeThumbnails, rejectingBadImages, storeEncoded, verifyImage, type PreparedThumbnail } from './images.js';
import { describeUpload, type UploadMetadata } from './metadata.js';
import { dateFolder, joinPath, pathCandidates, storedFileName, thumbnailPath } from './naming.js';
import { loadSniff } from './processing.js';
import { deriveStaged, stageUpload, type StagedUpload, type UploadFile, type UploadProgress } from './staging.js';

/** Per-call options of UploadHandler.handle. */
export interface UploadOptions {
  /** Called as bytes arrive while the upload is staged (each chunk), with the declared or known total. */
  onProgress?: (progress: UploadProgress) => void;
  /** Stops the upload (FsError ECANCELED); nothing stays stored. */
  signal?: AbortSignal;
  /** User metadata of this file, over the config's. */
  metadata?: Record<string, string>;
}

/** A stored thumbnail. */
export interface UploadedThumbnail {
  path: string;
  /** The disk's public URL, when it gives one. */
  url?: string;
  width: number;
  height: number;
  format: string;
  /** Bytes stored. */
  size: number;
}

/** What handle() stored. */
export interface UploadResult {
  /** Where the file is on the disk. */
  path: string;
  /** The disk's public URL of it, when the disk gives one (no `url` configured: absent). */
  url?: string;
  /** The disk's name. */
  disk: string;
  /** Bytes stored (after processing). */
  size: number;
  mime?: string;
  /** Hex sha256 of the stored bytes. */
  sha256: string;
  thumbnails: UploadedThumbnail[];
  metadata: UploadMetadata;
}

/** Options of the UploadHandler constructor. */
export interface UploadHandlerOptions {
  /** Where a disk name is looked up (default: the default `Storage` manager). */
  manager?: StorageManager;
}

/**
 * Checks, scans, processes and stores uploaded files on a disk, as the
 * seed's UploadHandler. handle() runs, in this order (each a protected
 * method a subclass may override, calling super to keep the default):
 *
 * 1. stage: the bytes are copied to a private local work folder, streamed,
 *    maxFileSize enforced while they arrive (never a whole file in memory);
 * 2. validate(staged): the upload rules (size, extension, sniffed type);
 * 3. scan(staged): clamd, when virusScan is set: before anything is
 *    processed or stored;
 * 4. process(staged) -> staged: image checks, optimise, watermark, convert;
 * 5. thumbnails(staged): the configured thumbnails of the processed image;
 * 6. extractMetadata(staged): size, mime, sha256, dimensions, EXIF;
 * 7. storeName(staged) -> the wanted path; a free name is picked when it is
 *    taken (`photo-1.jpg`...): an upload never overwrites a file silently;
 * 8. store(staged, path): the file, then its thumbnails, on the disk.
 *
 * A refusal at any step is an UploadRejectedError (see there) and nothing
 * is stored; so is any failure (a partly stored upload is deleted again).
 * The work folder is always removed. Concurrent handle() calls are safe and
 * never pick the same name; another process writing the same name at the
 * same moment is not excluded (backends offer no create-if-absent).
 */
export class UploadHandler {
  /** The checked config, defaults filled. */
  readonly config: ResolvedUploadConfig;
  readonly #disk: Disk | string;
  readonly #manager: StorageManager;
  /** Paths chosen by running handle() calls and not stored yet. */
  readonly #claimed = new Set<string>();

  /** `disk`: a Disk, or a disk name looked up on each upload (so Storage.fake applies). EINVAL for a bad config. */
  constructor(disk: Disk | string, config: UploadConfig = {}, options: UploadHandlerOptions = {}) {
    this.config = resolveUploadConfig(config);
    this.#disk = disk;
    this.#manager = options.manager ?? Storage;
  }

  /** The disk uploads go to. */
  disk(): Disk {
    return typeof this.#disk === 'string' ? this.#manager.disk(this.#disk) : this.#disk;
  }

  /** Takes one upload through every step (see the class comment) and resolves what was stored. */
  async handle(file: UploadFile, options: UploadOptions = {}): Promise<UploadResult> {
    const disk = this.disk();
    await mkdir(this.config.tempDir, { recursive: true }).catch((err: unknown) => Promise.reject(fromSystemError(err, { path: this.config.tempDir, op: 'upload' })));
    const workDir = await mkdtemp(join(this.config.tempDir, 'storaged-upload-'));
    try {
      const received = await stageUpload(file, {
        workDir,
        maxFileSize: this.config.maxFileSize,
        ...(options.onProgress ? { onProgress: options.onProgress } : {}),
        ...(options.signal ? { signal: options.signal } : {}),
      });
      await this.validate(received);
      stopIfAborted(options.signal, received.name);
      await this.scan(received);
      stopIfAborted(options.signal, received.name);
      const { processed, thumbnails, metadata } = await rejectingBadImages(received.name, async () => {
        const processed = await this.process(received);
        return { processed, thumbnails: await this.thumbnails(processed), metadata: await this.extractMetadata(processed) };
      });
      stopIfAborted(options.signal, received.name);
      const limits = (await disk.capabilities()).limits;
      const path = await this.#claimFreePath(disk, normalizeKey(await this.storeName(processed), limits));
      try {
        return await this.#storeAll(disk, processed, path, thumbnails, metadata, options);
      } finally {
        this.#claimed.delete(path);
      }
    } finally {
      await rm(workDir, { recursive: true, force: true });
    }
  }

  /** Step 2: the upload rules (maxFileSize, allowedExtensions, the sniffed type agreeing with the extension unless `sniff: false`). Throw UploadRejectedError to refuse. */
  protected async validate(staged: StagedUpload): Promise<void> {
    const { checkUploadRules } = await loadSniff();
    const rules = {
      ...(this.config.maxFileSize !== undefined ? { maxSize: this.config.maxFileSize } : {}),
      ...(this.config.allowedExtensions !== undefined ? { allowedExtensions: this.config.allowedExtensions } : {}),
    };
    const verdict = checkUploadRules({ name: staged.name, size: staged.size, sniffed: staged.sniffed }, rules);
    if (verdict.ok || (!this.config.sniff && verdict.rule === 'type-mismatch')) return;
    throw this.reject(staged, verdict.rule, verdict.reason, verdict.rule === 'max-size' ? 'EFBIG' : 'EINVAL');
  }

  /**
   * Step 3: streams the received file to clamd when virusScan is set.
   * Infected: UploadRejectedError EACCES 'virus' with the signature. A scanner
   * failure (down, timeout, size refused) rejects with the scanner's FsError:
   * never a pass.
   */
  protected async scan(staged: StagedUpload): Promise<void> {
    const scanner = this.config.scanner;
    if (scanner === undefined) return;
    let result;
    try {
      result = await scanner.scan(createReadStream(staged.path), { name: staged.name });
    } catch (err) {
      throw err instanceof FsError ? err : new FsError('EIO', `virus scan of '${staged.name}' failed: ${String(err)}`, { op: 'scan', cause: err });
    }
    if (result.verdict === 'infected') {
      throw new UploadRejectedError('EACCES', 'virus', `'${staged.name}' is infected (${result.signature})`, { name: staged.name, signature: result.signature });
    }
    if (result.verdict !== 'clean') throw new FsError('EIO', `virus scan of '${staged.name}' gave no verdict`, { op: 'scan' });
  }

  /**
   * Step 4: for images (isImage), verifyImages, then optimise, watermark and
   * convert as configured; other files pass unchanged. Resolves the file to
   * store: `staged` itself, or one derived from it (fromImage, derive). An
   * ImageRejectedError thrown here (or in steps 5-6) becomes an
   * UploadRejectedError EINVAL whose rule is its reason.
   */
  protected async process(staged: StagedUpload): Promise<StagedUpload> {
    if (!this.isImage(staged)) return staged;
    if (this.config.verifyImages !== false) await verifyImage(staged, this.config.verifyImages, this.config.imageLimits);
    return applyImageSteps(staged, this.config);
  }

  /** Step 5: the configured thumbnails of an image (none for other files), made in memory, stored by step 8. */
  protected async thumbnails(staged: StagedUpload): Promise<PreparedThumbnail[]> {
    if (this.config.thumbnails === undefined || !this.isImage(staged)) return [];
    return makeThumbnails(staged, this.config.thumbnails, this.config.imageLimits);
  }

  /** Step 6: the result's metadata (see UploadMetadata); image fields only with extractMetadata. */
  protected async extractMetadata(staged: StagedUpload): Promise<UploadMetadata> {
    return describeUpload(staged, this.config.extractMetadata, this.config.imageLimits);
  }

  /** Step 7: the wanted path: uploadPath, `yyyy/mm/dd` with organizeByDate, and the name by `naming`. May be taken: handle() then picks a free one. */
  protected async storeName(staged: StagedUpload): Promise<string> {
    const dated = this.config.organizeByDate ? dateFolder(this.config.now()) : '';
    return joinPath(this.config.uploadPath, dated, storedFileName(staged, this.config.naming));
  }

  /** Step 8: writes the file at `path` (streamed), with its mime type, the visibility and the user metadata. */
  protected async store(staged: StagedUpload, path: string, options: UploadOptions = {}): Promise<void> {
    const metadata = { ...this.config.metadata, ...options.metadata };
    await this.disk().writeStream(path, createReadStream(staged.path), {
      ...(staged.mime !== undefined ? { mimeType: staged.mime } : {}),
      ...(this.config.visibility !== undefined ? { visibility: this.config.visibility } : {}),
      ...(Object.keys(metadata).length > 0 ? { metadata } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    });
  }

  /** True when `staged` is an image the image steps process (a type sharp decodes, allowed by imageLimits.formats). */
  protected isImage(staged: StagedUpload): boolean {
    return isProcessableImage(staged, this.config.imageLimits);
  }

  /** For process(): the StagedUpload of an image a step made (written to the work folder; a new format renames: photo.png -> photo.webp). */
  protected fromImage(staged: StagedUpload, image: EncodedImage, label = 'processed'): Promise<StagedUpload> {
    return storeEncoded(staged, image, label);
  }

  /** For process(): the StagedUpload of a file a step wrote at `path` in `staged.workDir`. */
  protected derive(staged: StagedUpload, path: string, name?: string): Promise<StagedUpload> {
    return deriveStaged(staged, path, name);
  }

  /** For validate() and process(): the error that refuses `staged` (throw it). */
  protected reject(staged: StagedUpload, rule: UploadRejectionRule, reason: string, code: FsErrorCode = 'EINVAL'): UploadRejectedError {
    return new UploadRejectedError(code, rule, reason, { name: (staged.original ?? staged).name });
  }

  /** The first of pathCandidates(wanted) that no running call holds and the disk does not have; claimed until released. */
  async #claimFreePath(disk: Disk, wanted: string): Promise<string> {
    for (const candidate of pathCandidates(wanted)) {
      if (this.#claimed.has(candidate)) continue;
      this.#claimed.add(candidate);
      let taken: boolean;
      try {
        taken = await disk.exists(candidate);
      } catch (err) {
        this.#claimed.delete(candidate);
        throw err;
      }
      if (!taken) return candidate;
      this.#claimed.delete(candidate);
    }
    throw new FsError('EIO', `upload: no free name for '${wanted}'`, { path: wanted, op: 'upload' });
  }

  /** Stores the file and its thumbnails; on any failure deletes what was stored, then rethrows. */
  async #storeAll(disk: Disk, staged: StagedUpload, path: string, thumbnails: PreparedThumbnail[], metadata: UploadMetadata, options: UploadOptions): Promise<UploadResult> {
    const stored: string[] = [];
    try {
      // The path was free when claimed: whatever a failing store() left there is this upload's.
      stored.push(path);
      await this.store(staged, path, options);
      const made: UploadedThumbnail[] = [];
      for (const thumbnail of thumbnails) {
        stopIfAborted(options.signal, staged.name);
        const where = thumbnailPath(this.config.thumbnails?.path ?? '', this.config.uploadPath, path, thumbnail.box, thumbnail.format);
        await disk.put(where, thumbnail.bytes, {
          mimeType: `image/${thumbnail.format}`,
          ...(this.config.visibility !== undefined ? { visibility: this.config.visibility } : {}),
        });
        stored.push(where);
        made.push({ path: where, ...(await urlOf(disk, where)), width: thumbnail.width, height: thumbnail.height, format: thumbnail.format, size: thumbnail.bytes.length });
      }
      const result: UploadResult = { path, ...(await urlOf(disk, path)), disk: disk.name, size: staged.size, sha256: staged.sha256, thumbnails: made, metadata };
      if (staged.mime !== undefined) result.mime = staged.mime;
      return result;
    } catch (err) {
      await disk.delete(stored).catch(() => undefined);
      throw err;
    }
  }
}

/** A handler for `disk` (a Disk or a disk name of `Storage`) with `config`; see UploadHandler. */
export function createUploadHandler(disk: Disk | string, config: UploadConfig = {}, options: UploadHandlerOptions = {}): UploadHandler {
  return new UploadHandler(disk, config, options);
}

/** `{ url }` when the disk gives a public URL, `{}` when it has none (ENOTSUP). */
async function urlOf(disk: Disk, path: string): Promise<{ url?: string }> {
  try {
    return { url: await disk.url(path) };
  } catch (err) {
    if (isFsError(err, 'ENOTSUP')) return {};
    throw err;
  }
}

function stopIfAborted(signal: AbortSignal | undefined, name: string): void {
  if (signal?.aborted) throw new FsError('ECANCELED', `upload '${name}' was stopped`, { path: name, op: 'upload' });
}
