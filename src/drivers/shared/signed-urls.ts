import { FsError } from '../../core/errors.js';
import { encodeKeyForUrl, signUrl, type SignedMethod } from '../../core/signing.js';
import type { TemporaryUrlOptions } from '../types.js';

/** Longest lifetime a temporary URL may have (7 days, as S3 allows). */
export const MAX_URL_LIFETIME_SECONDS = 604_800;

/** Rejects a lifetime outside 1..MAX_URL_LIFETIME_SECONDS with EINVAL naming the key. */
export function checkUrlLifetime(op: string, key: string, lifetime: number): void {
  if (!Number.isFinite(lifetime) || lifetime < 1 || lifetime > MAX_URL_LIFETIME_SECONDS) {
    throw new FsError('EINVAL', `${op} '${key}': expiresIn must be 1..${MAX_URL_LIFETIME_SECONDS} seconds, got ${lifetime}`, {
      path: key,
      op,
    });
  }
}

/**
 * URLs of a disk without native presigning (local, ftp, memory):
 * `${base}/${encoded key}` for public files, the same URL HMAC-signed (core
 * signUrl) for temporary ones. The storaged HTTP server serves and verifies
 * them. `base` may be a path (/storage) or an absolute URL.
 */
export class SignedUrls {
  private readonly base: string | undefined;

  constructor(
    base: string | undefined,
    private readonly signingKey: string | undefined,
    private readonly diskName: string,
  ) {
    this.base = base?.replace(/\/+$/, '');
  }

  /** url() works: a base URL is configured. */
  get canPublic(): boolean {
    return this.base !== undefined;
  }

  /** temporaryUrl()/temporaryUploadUrl() work: a base URL and a signing key. */
  get canSign(): boolean {
    return this.base !== undefined && this.signingKey !== undefined;
  }

  /** The public URL of a normalized key; ENOTSUP without a base URL. */
  publicUrl(key: string): string {
    if (this.base === undefined) {
      throw new FsError('ENOTSUP', `url '${key}': disk '${this.diskName}' has no 'url' in its config`, { path: key, op: 'url' });
    }
    return `${this.base}/${encodeKeyForUrl(key)}`;
  }

  /** A signed URL for `method` valid for options.expiresIn seconds; ENOTSUP without a base URL or signing key. */
  signed(key: string, method: SignedMethod, options: TemporaryUrlOptions): string {
    const op = method === 'GET' ? 'temporaryUrl' : 'temporaryUploadUrl';
    if (this.signingKey === undefined || this.base === undefined) {
      const missing = this.base === undefined ? "a 'url'" : 'a signing key';
      throw new FsError('ENOTSUP', `${op} '${key}': disk '${this.diskName}' has no ${missing}`, { path: key, op });
    }
    const lifetime = options.expiresIn;
    checkUrlLifetime(op, key, lifetime);
    // Rounded up, so the URL lives at least `lifetime` seconds.
    return signUrl(this.publicUrl(key), this.signingKey, Math.ceil(Date.now() / 1000 + lifetime), method);
  }
}
