import { encodeKeyForUrl } from '../../core/signing.js';
import type { S3Settings } from './settings.js';

/**
 * The unsigned URL of an object (no I/O): with an endpoint,
 * `endpoint/bucket/key` (path style) or `scheme://bucket.host/key`; on AWS,
 * `https://bucket.s3.region.amazonaws.com/key` (or
 * `https://s3.region.amazonaws.com/bucket/key` with path style). Each key
 * segment is percent-encoded. It serves the bytes only if the object (or the
 * bucket policy) allows anonymous reads.
 */
export function s3PublicUrl(settings: S3Settings, key: string): string {
  const path = encodeKeyForUrl(key);
  const bucket = encodeURIComponent(settings.bucket);
  if (settings.endpoint === undefined) {
    const host = `s3.${settings.region}.amazonaws.com`;
    return settings.pathStyle ? `https://${host}/${bucket}/${path}` : `https://${bucket}.${host}/${path}`;
  }
  if (settings.pathStyle) return `${settings.endpoint}/${bucket}/${path}`;
  const endpoint = new URL(settings.endpoint);
  const base = endpoint.pathname.replace(/\/+$/, '');
  return `${endpoint.protocol}//${bucket}.${endpoint.host}${base}/${path}`;
}
