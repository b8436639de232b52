import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { expectCode, requireCapability, requireNoCapability, seededBytes, useDriver, writeText, type AreaContext } from './support.js';

/** Metadata: size, mtime, MIME type, checksum, visibility, custom metadata. */
export function describeMetadata({ fixture }: AreaContext): void {
  describe('metadata', () => {
    const driver = useDriver(fixture);

    it('stat reports the exact size', async () => {
      await driver().write('meta/sized.bin', seededBytes(12_345, 7));
      const stat = await driver().stat('meta/sized.bin');
      expect(stat.size).toBe(12_345);
      expect(stat.type).toBe('file');
    });

    it('lastModified is within a minute of now (allowing the backend resolution)', async () => {
      await writeText(driver(), 'meta/fresh.txt', 'fresh');
      const stat = await driver().stat('meta/fresh.txt');
      expect(stat.lastModified).toBeInstanceOf(Date);
      const tolerance = 60_000 + driver().capabilities.mtimeResolutionMs;
      expect(Math.abs(stat.lastModified.getTime() - Date.now()), `lastModified ${stat.lastModified.toISOString()}`).toBeLessThanOrEqual(tolerance);
    });

    it('the etag, when reported, changes on overwrite', async (ctx) => {
      await writeText(driver(), 'meta/etag.txt', 'first');
      const before = (await driver().stat('meta/etag.txt')).etag;
      ctx.skip(before === undefined, 'the driver reports no etag');
      await writeText(driver(), 'meta/etag.txt', 'second, longer');
      expect((await driver().stat('meta/etag.txt')).etag).not.toBe(before);
    });

    const mimeCases = [
      { path: 'meta/notes.txt', expected: 'text/plain' },
      { path: 'meta/data.json', expected: 'application/json' },
      { path: 'meta/page.html', expected: 'text/html' },
      { path: 'meta/picture.png', expected: 'image/png' },
    ];
    for (const { path, expected } of mimeCases) {
      it(`the MIME type of ${path.slice(5)} is ${expected} (parameters such as charset allowed)`, async () => {
        await writeText(driver(), path, 'content');
        const stat = await driver().stat(path);
        expect(stat.mimeType, 'stat must report a MIME type').toBeDefined();
        expect(stat.mimeType?.split(';')[0]?.trim().toLowerCase()).toBe(expected);
      });
    }

    it('checksum matches the content, with the algorithm it names', async () => {
      const content = seededBytes(50_000, 11);
      await driver().write('meta/summed.bin', content);
      const checksum = await driver().checksum('meta/summed.bin');
      const expectedAlgorithm = driver().capabilities.nativeChecksum ?? 'sha256';
      expect(checksum.algorithm).toBe(expectedAlgorithm);
      expect(checksum.hex).toBe(createHash(checksum.algorithm).update(content).digest('hex'));
    });

    it('checksum changes when the content does', async () => {
      await writeText(driver(), 'meta/changing.txt', 'one');
      const first = await driver().checksum('meta/changing.txt');
      await writeText(driver(), 'meta/changing.txt', 'two');
      const second = await driver().checksum('meta/changing.txt');
      expect(second.hex).toBe(createHash(second.algorithm).update('two').digest('hex'));
      expect(second.hex).not.toBe(first.hex);
    });

    it('a missing file has no stat, checksum or visibility: ENOENT, never a made-up value', async () => {
      await expectCode(driver().stat('meta/missing.txt'), 'ENOENT');
      await expectCode(driver().checksum('meta/missing.txt'), 'ENOENT');
      if (driver().capabilities.visibility) await expectCode(driver().getVisibility('meta/missing.txt'), 'ENOENT');
    });

    it('visibility is set at write and read back', async (ctx) => {
      requireCapability(ctx, driver(), 'visibility');
      await writeText(driver(), 'vis/public.txt', 'p', { visibility: 'public' });
      await writeText(driver(), 'vis/private.txt', 'q', { visibility: 'private' });
      expect(await driver().getVisibility('vis/public.txt')).toBe('public');
      expect(await driver().getVisibility('vis/private.txt')).toBe('private');
    });

    it('setVisibility changes it both ways; stat agrees when it reports visibility', async (ctx) => {
      requireCapability(ctx, driver(), 'visibility');
      await writeText(driver(), 'vis/toggle.txt', 'toggle', { visibility: 'private' });
      await driver().setVisibility('vis/toggle.txt', 'public');
      expect(await driver().getVisibility('vis/toggle.txt')).toBe('public');
      const stat = await driver().stat('vis/toggle.txt');
      if (stat.visibility !== undefined) expect(stat.visibility).toBe('public');
      await driver().setVisibility('vis/toggle.txt', 'private');
      expect(await driver().getVisibility('vis/toggle.txt')).toBe('private');
    });

    it('setVisibility or getVisibility on a missing file is ENOENT', async (ctx) => {
      requireCapability(ctx, driver(), 'visibility');
      await expectCode(driver().setVisibility('vis/missing.txt', 'public'), 'ENOENT');
      await expectCode(driver().getVisibility('vis/missing.txt'), 'ENOENT');
      await expectCode(driver().stat('vis/missing.txt'), 'ENOENT');
    });

    it('without the visibility capability, setVisibility and getVisibility are ENOTSUP', async (ctx) => {
      requireNoCapability(ctx, driver(), 'visibility');
      await writeText(driver(), 'vis/unsupported.txt', 'x');
      await expectCode(driver().setVisibility('vis/unsupported.txt', 'public'), 'ENOTSUP');
      await expectCode(driver().getVisibility('vis/unsupported.txt'), 'ENOTSUP');
    });

    it('custom metadata round-trips (lower-case keys)', async (ctx) => {
      requireCapability(ctx, driver(), 'metadata');
      await writeText(driver(), 'custom/tagged.txt', 'tagged', { metadata: { color: 'blue', 'Owner-Id': '42' } });
      const stat = await driver().stat('custom/tagged.txt');
      expect(stat.metadata).toMatchObject({ color: 'blue', 'owner-id': '42' });
    });

    it('an overwrite replaces custom metadata', async (ctx) => {
      requireCapability(ctx, driver(), 'metadata');
      await writeText(driver(), 'custom/replaced.txt', 'one', { metadata: { first: 'yes' } });
      await writeText(driver(), 'custom/replaced.txt', 'two', { metadata: { second: 'yes' } });
      const metadata = (await driver().stat('custom/replaced.txt')).metadata ?? {};
      expect(metadata.second).toBe('yes');
      expect(metadata.first).toBeUndefined();
    });
  });
}
