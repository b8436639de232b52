import { describe, expect, it } from 'vitest';
import { expectCode, expectSyncCode, readText, requireCapability, requireNoCapability, sleep, useDriver, writeText, type AreaContext } from './support.js';

const AWKWARD = 'urls/a b#c+d%e [f] {g} caf\u00e9.txt';

/** URLs: public URLs over real HTTP, temporary URLs before and after expiry, tampering. */
export function describeUrls({ fixture }: AreaContext): void {
  describe('urls', () => {
    const driver = useDriver(fixture);

    it('a public URL of a public file serves its bytes over HTTP', async (ctx) => {
      requireCapability(ctx, driver(), 'publicUrl');
      await writeText(driver(), 'urls/public.txt', 'public bytes', { visibility: 'public' });
      const response = await get(driver().url('urls/public.txt'));
      expect(response.status).toBe(200);
      expect(response.body).toBe('public bytes');
    });

    it('a public URL of a file with awkward characters serves its bytes', async (ctx) => {
      requireCapability(ctx, driver(), 'publicUrl');
      await writeText(driver(), AWKWARD, 'awkward bytes', { visibility: 'public' });
      const response = await get(driver().url(AWKWARD));
      expect(response.status).toBe(200);
      expect(response.body).toBe('awkward bytes');
    });

    it('the public URL of a private file is refused', async (ctx) => {
      requireCapability(ctx, driver(), 'publicUrl');
      requireCapability(ctx, driver(), 'visibility');
      await writeText(driver(), 'urls/private.txt', 'private bytes', { visibility: 'private' });
      const response = await get(driver().url('urls/private.txt'));
      expectRefused(response);
    });

    it('url() needs no I/O: a missing file gets a URL, which does not serve', async (ctx) => {
      requireCapability(ctx, driver(), 'publicUrl');
      const url = driver().url('urls/missing.txt');
      expect(typeof url).toBe('string');
      expectRefused(await get(url));
    });

    it('without publicUrl, url() throws ENOTSUP', (ctx) => {
      requireNoCapability(ctx, driver(), 'publicUrl');
      expectSyncCode(() => driver().url('urls/any.txt'), 'ENOTSUP');
    });

    it('a temporary URL serves the bytes before it expires, even for a private file', async (ctx) => {
      requireCapability(ctx, driver(), 'temporaryUrl');
      const visibility = driver().capabilities.visibility ? { visibility: 'private' as const } : {};
      await writeText(driver(), 'urls/temporary.txt', 'temporary bytes', visibility);
      const response = await get(await driver().temporaryUrl('urls/temporary.txt', { expiresIn: 60 }));
      expect(response.status).toBe(200);
      expect(response.body).toBe('temporary bytes');
    });

    it('a temporary URL of a file with awkward characters serves its bytes', async (ctx) => {
      requireCapability(ctx, driver(), 'temporaryUrl');
      await writeText(driver(), AWKWARD, 'awkward bytes');
      const response = await get(await driver().temporaryUrl(AWKWARD, { expiresIn: 60 }));
      expect(response.status).toBe(200);
      expect(response.body).toBe('awkward bytes');
    });

    it('a temporary URL is refused after it expires', async (ctx) => {
      requireCapability(ctx, driver(), 'temporaryUrl');
      requireCapability(ctx, driver(), 'temporaryUrlExpiryEnforced');
      await writeText(driver(), 'urls/expiring.txt', 'expiring bytes');
      const url = await driver().temporaryUrl('urls/expiring.txt', { expiresIn: 1 });
      await sleep(2_500);
      expectRefused(await get(url));
    });

    it('a tampered temporary URL is refused (altered signature, altered path)', async (ctx) => {
      requireCapability(ctx, driver(), 'temporaryUrl');
      requireCapability(ctx, driver(), 'temporaryUrlSignatureEnforced');
      await writeText(driver(), 'urls/signed-aaa.txt', 'signed bytes');
      await writeText(driver(), 'urls/signed-bbb.txt', 'other bytes');
      const url = await driver().temporaryUrl('urls/signed-aaa.txt', { expiresIn: 60 });
      expect((await get(url)).status).toBe(200);
      expectRefused(await get(alterSignature(url)));
      const otherPath = new URL(url);
      otherPath.pathname = otherPath.pathname.replace('signed-aaa.txt', 'signed-bbb.txt');
      expect(otherPath.toString()).not.toBe(url);
      expectRefused(await get(otherPath.toString()));
    });

    it('temporaryUrl rejects an expiry outside 1..604800 seconds with EINVAL', async (ctx) => {
      requireCapability(ctx, driver(), 'temporaryUrl');
      await expectCode(() => driver().temporaryUrl('urls/temporary.txt', { expiresIn: 0 }), 'EINVAL');
      await expectCode(() => driver().temporaryUrl('urls/temporary.txt', { expiresIn: 604_801 }), 'EINVAL');
    });

    it('without temporaryUrl, temporaryUrl() is ENOTSUP', async (ctx) => {
      requireNoCapability(ctx, driver(), 'temporaryUrl');
      await expectCode(() => driver().temporaryUrl('urls/any.txt', { expiresIn: 60 }), 'ENOTSUP');
    });

    it('a temporary upload URL stores the PUT body', async (ctx) => {
      requireCapability(ctx, driver(), 'temporaryUploadUrl');
      const url = await driver().temporaryUploadUrl('urls/uploaded.txt', { expiresIn: 60 });
      // x-ms-blob-type is required by Azure and ignored by the others.
      const response = await fetch(url, { method: 'PUT', body: 'uploaded bytes', headers: { 'x-ms-blob-type': 'BlockBlob' } });
      await response.arrayBuffer();
      expect(response.status).toBeGreaterThanOrEqual(200);
      expect(response.status).toBeLessThan(300);
      expect(await readText(driver(), 'urls/uploaded.txt')).toBe('uploaded bytes');
    });

    it('without temporaryUploadUrl, temporaryUploadUrl() is ENOTSUP', async (ctx) => {
      requireNoCapability(ctx, driver(), 'temporaryUploadUrl');
      await expectCode(() => driver().temporaryUploadUrl('urls/any.txt', { expiresIn: 60 }), 'ENOTSUP');
    });
  });
}

async function get(url: string): Promise<{ status: number; body: string }> {
  const response = await fetch(url);
  return { status: response.status, body: await response.text() };
}

/** Refused: a 4xx answer (403 for signatures and privacy, 404 for S3-style hiding), never the bytes. */
function expectRefused(response: { status: number; body: string }): void {
  expect(response.status, `expected a refusal, got ${response.status}: ${response.body.slice(0, 200)}`).toBeGreaterThanOrEqual(400);
  expect(response.status).toBeLessThan(500);
}

/** Flips one character of the URL's signature parameter (signature, X-Amz-Signature, X-Goog-Signature, sig). */
function alterSignature(url: string): string {
  const parsed = new URL(url);
  const name = [...parsed.searchParams.keys()].find((key) => /^(signature|x-amz-signature|x-goog-signature|sig)$/i.test(key));
  if (name === undefined) throw new Error(`no signature parameter found in ${url}`);
  const value = parsed.searchParams.get(name) ?? '';
  const first = value[0] ?? 'a';
  const replacement = first === 'a' ? 'b' : first === 'A' ? 'B' : /[0-9a-f]/.test(first) ? 'a' : 'A';
  parsed.searchParams.set(name, replacement + value.slice(1));
  return parsed.toString();
}
