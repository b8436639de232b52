import { describe, expect, it } from 'vitest';
import type { StorageDriver } from '../../src/drivers/types.js';
import { expectCode, readText, requireCapability, requireNoCapability, useDriver, writeText, type AreaContext } from './support.js';

/** Copy and move: equal files, overwrites, onto itself, missing sources, visibility, copies with new metadata. */
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

    describeCopyWithMetadata(driver);

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

/** POSIX attributes as the mount stores them: what a deduplicating copy gives its new object. */
const ATTRIBUTES = { 'storaged-mode': '33188', 'storaged-uid': '1000', 'storaged-gid': '100', 'storaged-mtime-ns': '1700000000123456789' };

/** A content type no driver would guess from a name, so keeping it is observable. */
const CUSTOM_TYPE = 'application/x-storaged-conformance';

/** copy(from, to, { metadata, signal }): the copy's user metadata is exactly the given one; content, type and visibility are the source's. */
function describeCopyWithMetadata(driver: () => StorageDriver): void {
  it('copy with metadata replaces the user metadata; content, type and checksum are kept', async (ctx) => {
    requireCapability(ctx, driver(), 'metadata');
    const sourceMetadata = { origin: 'source', 'storaged-mode': '33261' };
    await writeText(driver(), 'cpm/source.txt', 'deduplicated content', { mimeType: CUSTOM_TYPE, metadata: sourceMetadata });
    await driver().copy('cpm/source.txt', 'cpm/copy.txt', { metadata: { ...ATTRIBUTES, 'Storaged-Extra': 'Mixed Case' } });
    const copy = await driver().stat('cpm/copy.txt');
    expect(copy.metadata).toEqual({ ...ATTRIBUTES, 'storaged-extra': 'Mixed Case' });
    expect(copy.mimeType?.split(';')[0]).toBe(CUSTOM_TYPE);
    expect(copy.size).toBe(20);
    expect(await readText(driver(), 'cpm/copy.txt')).toBe('deduplicated content');
    expect(await driver().checksum('cpm/copy.txt')).toEqual(await driver().checksum('cpm/source.txt'));
    expect((await driver().stat('cpm/source.txt')).metadata, 'the source keeps its own metadata').toEqual(sourceMetadata);
  });

  it('copy with metadata onto an existing file replaces its content and metadata', async (ctx) => {
    requireCapability(ctx, driver(), 'metadata');
    await writeText(driver(), 'cpm/over-src.txt', 'new bytes', { metadata: { from: 'source' } });
    await writeText(driver(), 'cpm/over-dst.txt', 'old and longer content', { metadata: { stale: 'yes' } });
    await driver().copy('cpm/over-src.txt', 'cpm/over-dst.txt', { metadata: ATTRIBUTES });
    const copy = await driver().stat('cpm/over-dst.txt');
    expect(copy.metadata).toEqual(ATTRIBUTES);
    expect(copy.size).toBe(9);
    expect(await readText(driver(), 'cpm/over-dst.txt')).toBe('new bytes');
    expect(await driver().checksum('cpm/over-dst.txt'), 'the checksum is the new content\'s').toEqual(await driver().checksum('cpm/over-src.txt'));
  });

  it('copy with empty metadata gives a copy without user metadata', async (ctx) => {
    requireCapability(ctx, driver(), 'metadata');
    await writeText(driver(), 'cpm/bare-src.txt', 'bare', { metadata: { origin: 'source' } });
    await driver().copy('cpm/bare-src.txt', 'cpm/bare-dst.txt', { metadata: {} });
    expect((await driver().stat('cpm/bare-dst.txt')).metadata ?? {}).toEqual({});
    expect(await readText(driver(), 'cpm/bare-dst.txt')).toBe('bare');
  });

  it('copy with metadata onto itself replaces the metadata and keeps content and type', async (ctx) => {
    requireCapability(ctx, driver(), 'metadata');
    await writeText(driver(), 'cpm/self.txt', 'myself', { mimeType: CUSTOM_TYPE, metadata: { before: 'yes' } });
    await driver().copy('cpm/self.txt', 'cpm/./self.txt', { metadata: ATTRIBUTES });
    const stat = await driver().stat('cpm/self.txt');
    expect(stat.metadata).toEqual(ATTRIBUTES);
    expect(stat.mimeType?.split(';')[0]).toBe(CUSTOM_TYPE);
    expect(await readText(driver(), 'cpm/self.txt')).toBe('myself');
  });

  it('copy with metadata keeps the source visibility', async (ctx) => {
    requireCapability(ctx, driver(), 'metadata');
    requireCapability(ctx, driver(), 'visibility');
    await writeText(driver(), 'cpm/vis-private.txt', 'p', { visibility: 'private' });
    await writeText(driver(), 'cpm/vis-public.txt', 'q', { visibility: 'public' });
    await driver().copy('cpm/vis-private.txt', 'cpm/vis-private-copy.txt', { metadata: ATTRIBUTES });
    await driver().copy('cpm/vis-public.txt', 'cpm/vis-public-copy.txt', { metadata: ATTRIBUTES });
    expect(await driver().getVisibility('cpm/vis-private-copy.txt')).toBe('private');
    expect(await driver().getVisibility('cpm/vis-public-copy.txt')).toBe('public');
  });

  it('without the metadata capability, copy with metadata still copies (the metadata is ignored)', async (ctx) => {
    requireNoCapability(ctx, driver(), 'metadata');
    await writeText(driver(), 'cpm/plain-src.txt', 'plain content');
    await driver().copy('cpm/plain-src.txt', 'cpm/plain-dst.txt', { metadata: ATTRIBUTES });
    expect(await readText(driver(), 'cpm/plain-dst.txt')).toBe('plain content');
    expect((await driver().stat('cpm/plain-dst.txt')).size).toBe(13);
  });

  it('copy with an already aborted signal is ECANCELED and creates nothing', async () => {
    await writeText(driver(), 'cpm/abort-src.txt', 'never copied');
    const controller = new AbortController();
    controller.abort();
    await expectCode(driver().copy('cpm/abort-src.txt', 'cpm/abort-dst.txt', { signal: controller.signal, metadata: ATTRIBUTES }), 'ECANCELED');
    await expectCode(driver().stat('cpm/abort-dst.txt'), 'ENOENT');
  });

  it('copy with metadata of a missing file is ENOENT and creates nothing', async () => {
    await expectCode(driver().copy('cpm/missing.txt', 'cpm/never.txt', { metadata: ATTRIBUTES }), 'ENOENT');
    await expectCode(driver().stat('cpm/never.txt'), 'ENOENT');
  });
}
