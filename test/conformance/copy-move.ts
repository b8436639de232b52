import { describe, expect, it } from 'vitest';
import { expectCode, readText, requireCapability, useDriver, writeText, type AreaContext } from './support.js';

/** Copy and move: equal files, overwrites, onto itself, missing sources, visibility. */
export function describeCopyMove({ fixture }: AreaContext): void {
  describe('copy and move', () => {
    const driver = useDriver(fixture);

    it('copy gives two equal files', async () => {
      await writeText(driver(), 'cp/source.txt', 'copied content');
      await driver().copy('cp/source.txt', 'cp/target.txt');
      expect(await readText(driver(), 'cp/source.txt')).toBe('copied content');
      expect(await readText(driver(), 'cp/target.txt')).toBe('copied content');
      expect((await driver().stat('cp/target.txt')).size).toBe(14);
    });

    it('copy into a folder that does not exist yet creates it', async () => {
      await writeText(driver(), 'cp/nested-source.txt', 'nested');
      await driver().copy('cp/nested-source.txt', 'cp/new/folder/target.txt');
      expect(await readText(driver(), 'cp/new/folder/target.txt')).toBe('nested');
      expect((await driver().stat('cp/new/folder')).type).toBe('directory');
    });

    it('copy onto an existing file overwrites it', async () => {
      await writeText(driver(), 'cp/over-src.txt', 'new');
      await writeText(driver(), 'cp/over-dst.txt', 'old and longer content');
      await driver().copy('cp/over-src.txt', 'cp/over-dst.txt');
      expect(await readText(driver(), 'cp/over-dst.txt')).toBe('new');
    });

    it('copy onto itself leaves the content intact', async () => {
      await writeText(driver(), 'cp/self.txt', 'myself');
      await driver().copy('cp/self.txt', 'cp/self.txt');
      expect(await readText(driver(), 'cp/self.txt')).toBe('myself');
      await driver().copy('cp/self.txt', 'cp/./self.txt');
      expect(await readText(driver(), 'cp/self.txt')).toBe('myself');
    });

    it('the copy keeps the source visibility (private and public)', async (ctx) => {
      requireCapability(ctx, driver(), 'visibility');
      await writeText(driver(), 'cp/vis-private.txt', 'p', { visibility: 'private' });
      await writeText(driver(), 'cp/vis-public.txt', 'q', { visibility: 'public' });
      await driver().copy('cp/vis-private.txt', 'cp/vis-private-copy.txt');
      await driver().copy('cp/vis-public.txt', 'cp/vis-public-copy.txt');
      expect(await driver().getVisibility('cp/vis-private-copy.txt')).toBe('private');
      expect(await driver().getVisibility('cp/vis-public-copy.txt')).toBe('public');
    });

    it('copying a private file onto a public one makes the destination private', async (ctx) => {
      requireCapability(ctx, driver(), 'visibility');
      await writeText(driver(), 'cp/vis-src.txt', 'secret', { visibility: 'private' });
      await writeText(driver(), 'cp/vis-dst.txt', 'open', { visibility: 'public' });
      await driver().copy('cp/vis-src.txt', 'cp/vis-dst.txt');
      expect(await driver().getVisibility('cp/vis-dst.txt')).toBe('private');
      expect(await readText(driver(), 'cp/vis-dst.txt')).toBe('secret');
    });

    it('the copy keeps custom metadata', async (ctx) => {
      requireCapability(ctx, driver(), 'metadata');
      await writeText(driver(), 'cp/meta-src.txt', 'm', { metadata: { origin: 'source' } });
      await driver().copy('cp/meta-src.txt', 'cp/meta-dst.txt');
      expect((await driver().stat('cp/meta-dst.txt')).metadata).toMatchObject({ origin: 'source' });
    });

    it('copy of a missing file is ENOENT and creates nothing', async () => {
      await expectCode(driver().copy('cp/missing.txt', 'cp/never.txt'), 'ENOENT');
      await expectCode(driver().stat('cp/never.txt'), 'ENOENT');
    });

    it('move leaves no source behind', async () => {
      await writeText(driver(), 'mv/source.txt', 'moving');
      await driver().move('mv/source.txt', 'mv/target.txt');
      expect(await readText(driver(), 'mv/target.txt')).toBe('moving');
      await expectCode(driver().stat('mv/source.txt'), 'ENOENT');
      await expectCode(driver().read('mv/source.txt'), 'ENOENT');
    });

    it('move into a folder that does not exist yet creates it', async () => {
      await writeText(driver(), 'mv/nested-source.txt', 'nested');
      await driver().move('mv/nested-source.txt', 'mv/new/folder/target.txt');
      expect(await readText(driver(), 'mv/new/folder/target.txt')).toBe('nested');
      await expectCode(driver().stat('mv/nested-source.txt'), 'ENOENT');
    });

    it('move onto an existing file overwrites it', async () => {
      await writeText(driver(), 'mv/over-src.txt', 'new');
      await writeText(driver(), 'mv/over-dst.txt', 'old and longer content');
      await driver().move('mv/over-src.txt', 'mv/over-dst.txt');
      expect(await readText(driver(), 'mv/over-dst.txt')).toBe('new');
      await expectCode(driver().stat('mv/over-src.txt'), 'ENOENT');
    });

    it('move onto itself changes nothing', async () => {
      await writeText(driver(), 'mv/self.txt', 'myself');
      await driver().move('mv/self.txt', 'mv/self.txt');
      expect(await readText(driver(), 'mv/self.txt')).toBe('myself');
      await driver().move('mv/self.txt', 'mv//self.txt');
      expect(await readText(driver(), 'mv/self.txt')).toBe('myself');
    });

    it('the moved file keeps its visibility', async (ctx) => {
      requireCapability(ctx, driver(), 'visibility');
      await writeText(driver(), 'mv/vis-public.txt', 'q', { visibility: 'public' });
      await driver().move('mv/vis-public.txt', 'mv/vis-public-moved.txt');
      expect(await driver().getVisibility('mv/vis-public-moved.txt')).toBe('public');
    });

    it('move of a missing file is ENOENT and creates nothing', async () => {
      await expectCode(driver().move('mv/missing.txt', 'mv/never.txt'), 'ENOENT');
      await expectCode(driver().stat('mv/never.txt'), 'ENOENT');
    });
  });
}
