import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FsError, type FsErrorCode } from '../../src/core/errors.js';
import { encodeKeyForUrl, resolveSigningKey, signUrl, verifySignedUrl } from '../../src/core/signing.js';

const SECRET = 'a-test-secret-of-some-length';
const NOW = 1_700_000_000;

function codeOf(action: () => unknown): FsErrorCode | 'no error' {
  try {
    action();
    return 'no error';
  } catch (err) {
    if (!(err instanceof FsError)) throw err;
    return err.code;
  }
}

/** Replaces one query parameter of a (possibly relative) URL. */
function withParam(url: string, name: string, value: string | null): string {
  const parsed = new URL(url, 'http://relative.invalid');
  if (value === null) parsed.searchParams.delete(name);
  else parsed.searchParams.set(name, value);
  return url.startsWith('http') ? parsed.toString() : `${parsed.pathname}${parsed.search}`;
}

describe('encodeKeyForUrl', () => {
  it('encodes each segment and keeps the slashes', () => {
    expect(encodeKeyForUrl('a b/c#d/e%f+g?')).toBe('a%20b/c%23d/e%25f%2Bg%3F');
    expect(encodeKeyForUrl('caf\u00e9')).toBe('caf%C3%A9');
  });
});

describe('signUrl / verifySignedUrl', () => {
  const absolute = signUrl(`http://127.0.0.1:8080/files/${encodeKeyForUrl('dir/a b#1.txt')}`, SECRET, NOW + 60);
  const relative = signUrl('/storage/report.pdf', SECRET, NOW + 60);

  it('a signed absolute URL verifies and gives the decoded path', () => {
    expect(absolute.startsWith('http://127.0.0.1:8080/files/dir/a%20b%231.txt?')).toBe(true);
    expect(verifySignedUrl(absolute, SECRET, 'GET', NOW)).toBe('/files/dir/a b#1.txt');
  });

  it('a signed relative URL stays relative and verifies', () => {
    expect(relative.startsWith('/storage/report.pdf?')).toBe(true);
    expect(verifySignedUrl(relative, SECRET, 'GET', NOW)).toBe('/storage/report.pdf');
  });

  it('the URL verifies until its expiry second and is refused after', () => {
    expect(codeOf(() => verifySignedUrl(relative, SECRET, 'GET', NOW + 60))).toBe('no error');
    expect(codeOf(() => verifySignedUrl(relative, SECRET, 'GET', NOW + 61))).toBe('EACCES');
  });

  it('uses the current time by default', () => {
    const fresh = signUrl('/f/x', SECRET, Date.now() / 1000 + 60);
    const stale = signUrl('/f/x', SECRET, Date.now() / 1000 - 5);
    expect(verifySignedUrl(fresh, SECRET)).toBe('/f/x');
    expect(codeOf(() => verifySignedUrl(stale, SECRET))).toBe('EACCES');
  });

  it('a tampered path is refused', () => {
    expect(codeOf(() => verifySignedUrl(relative.replace('report.pdf', 'secret.pdf'), SECRET, 'GET', NOW))).toBe('EACCES');
    expect(codeOf(() => verifySignedUrl(absolute.replace('/files/', '/other/'), SECRET, 'GET', NOW))).toBe('EACCES');
  });

  it('a tampered signature is refused', () => {
    const signature = new URL(relative, 'http://x').searchParams.get('signature') ?? '';
    const altered = (signature[0] === 'A' ? 'B' : 'A') + signature.slice(1);
    expect(codeOf(() => verifySignedUrl(withParam(relative, 'signature', altered), SECRET, 'GET', NOW))).toBe('EACCES');
    expect(codeOf(() => verifySignedUrl(withParam(relative, 'signature', signature.slice(1)), SECRET, 'GET', NOW))).toBe('EACCES');
  });

  it('an extended expiry is refused', () => {
    expect(codeOf(() => verifySignedUrl(withParam(relative, 'expires', String(NOW + 3600)), SECRET, 'GET', NOW))).toBe('EACCES');
  });

  it('a missing signature or expiry is refused', () => {
    expect(codeOf(() => verifySignedUrl(withParam(relative, 'signature', null), SECRET, 'GET', NOW))).toBe('EACCES');
    expect(codeOf(() => verifySignedUrl(withParam(relative, 'expires', null), SECRET, 'GET', NOW))).toBe('EACCES');
    expect(codeOf(() => verifySignedUrl('/storage/report.pdf', SECRET, 'GET', NOW))).toBe('EACCES');
  });

  it('another secret does not verify', () => {
    expect(codeOf(() => verifySignedUrl(relative, 'another-secret-entirely', 'GET', NOW))).toBe('EACCES');
  });

  it('a GET URL does not allow PUT, and a PUT URL does not allow GET', () => {
    const put = signUrl('/storage/upload.bin', SECRET, NOW + 60, 'PUT');
    expect(verifySignedUrl(put, SECRET, 'PUT', NOW)).toBe('/storage/upload.bin');
    expect(codeOf(() => verifySignedUrl(put, SECRET, 'GET', NOW))).toBe('EACCES');
    expect(codeOf(() => verifySignedUrl(relative, SECRET, 'PUT', NOW))).toBe('EACCES');
    expect(codeOf(() => verifySignedUrl(withParam(put, 'method', null), SECRET, 'GET', NOW))).toBe('EACCES');
  });

  it('re-signing replaces the old signature', () => {
    const resigned = signUrl(relative, SECRET, NOW + 120);
    expect(new URL(resigned, 'http://x').searchParams.getAll('signature')).toHaveLength(1);
    expect(codeOf(() => verifySignedUrl(resigned, SECRET, 'GET', NOW + 100))).toBe('no error');
  });
});

describe('resolveSigningKey', () => {
  const dir = mkdtempSync(join(tmpdir(), 'storaged-signing-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('returns the configured key without touching the file', () => {
    const file = join(dir, 'unused', 'key');
    expect(resolveSigningKey('configured-secret-value', file)).toBe('configured-secret-value');
    expect(existsSync(file)).toBe(false);
  });

  it('creates a random key file with mode 0600 and reuses it', () => {
    const file = join(dir, 'nested', 'signing.key');
    const first = resolveSigningKey(undefined, file);
    expect(first.length).toBeGreaterThanOrEqual(32);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readFileSync(file, 'utf8').trim()).toBe(first);
    expect(resolveSigningKey(undefined, file)).toBe(first);
  });

  it('a key file created by a racing process wins, and a short one is refused', () => {
    const file = join(dir, 'race.key');
    writeFileSync(file, 'created-by-another-process\n');
    expect(resolveSigningKey(undefined, file)).toBe('created-by-another-process');
    const empty = join(dir, 'empty.key');
    writeFileSync(empty, '');
    expect(() => resolveSigningKey(undefined, empty)).toThrow(expect.objectContaining({ code: 'EINVAL' }));
  });

  it('two files give two different keys', () => {
    expect(resolveSigningKey(undefined, join(dir, 'one.key'))).not.toBe(resolveSigningKey(undefined, join(dir, 'two.key')));
  });
});
