import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { existsSync, linkSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { FsError } from './errors.js';

/** What a signed URL grants. */
export type SignedMethod = 'GET' | 'PUT';

/** Query parameters a signed URL carries. */
const EXPIRES = 'expires';
const METHOD = 'method';
const SIGNATURE = 'signature';

/** Encodes a normalized key for a URL path, segment by segment. */
export function encodeKeyForUrl(key: string): string {
  return key.split('/').map(encodeURIComponent).join('/');
}

/**
 * Signs `url` (absolute, or a path such as /storage/a.txt) for `method`
 * until `expiresAt` (epoch seconds) with HMAC-SHA256 over the method, the URL
 * path and the expiry. The HTTP server checks it with verifySignedUrl. Used
 * by drivers without native presigning (local, ftp).
 */
export function signUrl(url: string, secret: string, expiresAt: number, method: SignedMethod = 'GET'): string {
  const parsed = new URL(url, 'http://relative.invalid');
  parsed.searchParams.delete(SIGNATURE);
  parsed.searchParams.set(EXPIRES, String(Math.floor(expiresAt)));
  if (method !== 'GET') parsed.searchParams.set(METHOD, method);
  parsed.searchParams.set(SIGNATURE, digest(secret, method, parsed.pathname, Math.floor(expiresAt)));
  return parsed.origin === 'http://relative.invalid' ? `${parsed.pathname}${parsed.search}` : parsed.toString();
}

/**
 * Checks a signed URL for `method` at time `now` (epoch seconds). Returns the
 * decoded URL path on success. Throws FsError EACCES when the signature is
 * missing or wrong (tampered path, expiry or method) or the URL has expired.
 */
export function verifySignedUrl(url: string, secret: string, method: SignedMethod = 'GET', now = Date.now() / 1000): string {
  const parsed = new URL(url, 'http://relative.invalid');
  const signature = parsed.searchParams.get(SIGNATURE);
  const expires = Number(parsed.searchParams.get(EXPIRES));
  const signedMethod = parsed.searchParams.get(METHOD) ?? 'GET';
  if (!signature || !Number.isInteger(expires)) {
    throw new FsError('EACCES', 'signed URL: missing signature or expiry', { op: 'verify-url' });
  }
  const expected = Buffer.from(digest(secret, signedMethod, parsed.pathname, expires));
  const given = Buffer.from(signature);
  if (signedMethod !== method || given.length !== expected.length || !timingSafeEqual(given, expected)) {
    throw new FsError('EACCES', 'signed URL: signature does not match', { op: 'verify-url' });
  }
  if (now > expires) {
    throw new FsError('EACCES', `signed URL: expired at ${new Date(expires * 1000).toISOString()}`, { op: 'verify-url' });
  }
  return decodeURIComponent(parsed.pathname);
}

function digest(secret: string, method: string, path: string, expires: number): string {
  return createHmac('sha256', secret).update(`${method}\n${path}\n${expires}`).digest('base64url');
}

/**
 * The signing secret: the configured one, or a random one kept in
 * `keyFile` (created with mode 0600 on first use) so URLs stay valid across
 * restarts and are honoured by every process sharing the cache folder.
 */
export function resolveSigningKey(configured: string | undefined, keyFile: string): string {
  if (configured !== undefined) return configured;
  if (existsSync(keyFile)) return readKey(keyFile);
  mkdirSync(dirname(keyFile), { recursive: true });
  // Written whole to a private temp file, then linked into place: link fails
  // if another process won the race, and nobody ever reads a partial key.
  const temp = `${keyFile}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  const key = randomBytes(32).toString('base64url');
  writeFileSync(temp, key + '\n', { mode: 0o600, flag: 'wx' });
  try {
    linkSync(temp, keyFile);
    return key;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    return readKey(keyFile);
  } finally {
    unlinkSync(temp);
  }
}

function readKey(keyFile: string): string {
  const key = readFileSync(keyFile, 'utf8').trim();
  if (key.length < 16) throw new FsError('EINVAL', `signing key file '${keyFile}' holds no usable key (under 16 characters)`, { path: keyFile });
  return key;
}
