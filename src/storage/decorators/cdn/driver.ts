import type { Readable } from 'node:stream';
import { FsError, isFsError } from '../../../core/errors.js';
import { normalizeDirectory, normalizeKey } from '../../../core/paths.js';
import { encodeKeyForUrl } from '../../../core/signing.js';
import type { CopyOptions, StorageDriver, Visibility, WriteOptions, WriteResult } from '../../../drivers/types.js';
import { ForwardingDriver } from '../forwarding-driver.js';
import { Invalidator, isHttpUrl, validateInvalidation, type CdnInvalidation, type InvalidationErrorHandler, type InvalidationStats } from './invalidation.js';

/** Options of createCdnDriver. */
export interface CdnOptions {
  /** The CDN's base URL, e.g. 'https://cdn.example.com/assets' (a trailing slash is ignored). */
  baseUrl: string;
  /** Where to send invalidations; without it, nothing is invalidated. */
  invalidate?: CdnInvalidation;
  /** Called for each failed invalidation call (besides the counters of `invalidations()`). */
  onInvalidationError?: InvalidationErrorHandler;
}

/**
 * A driver whose public URLs point at a CDN: `url(path)` is the base URL plus
 * the key, each segment percent-encoded (no I/O; `publicUrl` is true).
 * Everything else is the inner driver's, temporary URLs included.
 *
 * With `invalidate`, each successful change tells the CDN which URL paths went
 * stale, in one batch per operation: overwriting an existing file (a write or
 * a copy onto it), delete, move (source, and target when it existed),
 * setVisibility, and deleteDirectory (as 'dir/*'). Paths are the URL paths as
 * the CDN sees them: the base URL's path plus the encoded key, e.g.
 * '/assets/a%20b.txt'. To know whether a write overwrites, the driver stats
 * the target first (only when invalidation is configured). Deletes always
 * invalidate, so a retried delete re-sends a lost invalidation.
 *
 * The operation resolves after its invalidation calls settled (each bounded
 * by `timeoutMs`); a failed invalidation never fails the operation: it is
 * counted in `invalidations()` and passed to `onInvalidationError`.
 */
export class CdnDriver extends ForwardingDriver {
  private readonly baseUrl: string;
  private readonly basePath: string;
  private readonly invalidator: Invalidator;

  constructor(inner: StorageDriver, options: CdnOptions) {
    if (!isHttpUrl(options.baseUrl)) {
      throw new FsError('EINVAL', `cdn disk: baseUrl '${options.baseUrl}' is not an http(s) URL`, { op: 'config' });
    }
    const parsed = new URL(options.baseUrl);
    if (parsed.search !== '' || parsed.hash !== '') {
      throw new FsError('EINVAL', `cdn disk: baseUrl '${options.baseUrl}' must not carry a query or fragment`, { op: 'config' });
    }
    validateInvalidation(options.invalidate ?? {});
    super(inner, `cdn(${inner.name})`, { ...inner.capabilities, publicUrl: true });
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.basePath = parsed.pathname.replace(/\/+$/, '');
    this.invalidator = new Invalidator(options.invalidate ?? {}, options.onInvalidationError);
  }

  /** Counters of invalidation calls since the driver was created. */
  invalidations(): InvalidationStats {
    return this.invalidator.snapshot();
  }

  override async write(path: string, body: Readable | Uint8Array, options?: WriteOptions): Promise<WriteResult> {
    let key: string;
    try {
      key = this.fileKey(path);
    } catch (err) {
      // Refused before reading: release the caller's stream rather than leave it hanging.
      if (!(body instanceof Uint8Array)) body.destroy();
      throw err;
    }
    const existed = await this.existedBefore(key);
    const result = await this.inner.write(key, body, options);
    if (existed) await this.invalidate([key]);
    return result;
  }

  override async delete(path: string): Promise<void> {
    const key = this.fileKey(path);
    await this.inner.delete(key);
    await this.invalidate([key]);
  }

  override async deleteDirectory(path: string): Promise<void> {
    const key = normalizeDirectory(path, this.capabilities.limits);
    await this.inner.deleteDirectory(key);
    if (this.invalidator.enabled) await this.invalidator.send([this.directoryPattern(key)]);
  }

  override async copy(from: string, to: string, options?: CopyOptions): Promise<void> {
    const source = this.fileKey(from);
    const target = this.fileKey(to);
    const existed = await this.existedBefore(target);
    await this.inner.copy(source, target, options);
    if (existed) await this.invalidate([target]);
  }

  override async move(from: string, to: string): Promise<void> {
    const source = this.fileKey(from);
    const target = this.fileKey(to);
    if (source === target) return this.inner.move(source, target);
    const existed = await this.existedBefore(target);
    await this.inner.move(source, target);
    await this.invalidate(existed ? [source, target] : [source]);
  }

  override async setVisibility(path: string, visibility: Visibility): Promise<void> {
    const key = this.fileKey(path);
    await this.inner.setVisibility(key, visibility);
    await this.invalidate([key]);
  }

  override url(path: string): string {
    return `${this.baseUrl}/${encodeKeyForUrl(this.fileKey(path))}`;
  }

  private fileKey(path: string): string {
    return normalizeKey(path, this.capabilities.limits);
  }

  /** The URL path of a key as the CDN sees it: the base URL's path plus the encoded key. */
  private urlPath(key: string): string {
    return `${this.basePath}/${encodeKeyForUrl(key)}`;
  }

  /** The wildcard URL path of everything below a directory ('' is the root). */
  private directoryPattern(key: string): string {
    return key === '' ? `${this.basePath}/*` : `${this.urlPath(key)}/*`;
  }

  private async invalidate(keys: string[]): Promise<void> {
    if (this.invalidator.enabled) await this.invalidator.send(keys.map((key) => this.urlPath(key)));
  }

  /**
   * Whether a file is at `key` before a change (only asked when invalidating).
   * An answer other than "missing" or "a directory" (an outage, say) counts as
   * existing: invalidating once too often is harmless, a stale CDN copy is not.
   */
  private async existedBefore(key: string): Promise<boolean> {
    if (!this.invalidator.enabled) return false;
    try {
      return (await this.inner.stat(key)).type === 'file';
    } catch (err) {
      return !isFsError(err, 'ENOENT', 'ENOTDIR');
    }
  }
}

/**
 * Wraps `inner` with CDN URLs and invalidation (see CdnDriver). Throws FsError
 * EINVAL for a baseUrl that is not an absolute http(s) URL or bad
 * invalidation options. The CDN driver owns `inner`: close() closes it.
 */
export function createCdnDriver(inner: StorageDriver, options: CdnOptions): CdnDriver {
  return new CdnDriver(inner, options);
}
