import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { FsError } from '../../src/core/errors.js';
import {
  collect,
  expectCode,
  failingStream,
  readBytes,
  readText,
  requireCapability,
  seededBytes,
  streamOf,
  useDriver,
  writeText,
  type AreaContext,
} from './support.js';

/** Write and read: strings, streams, empty bodies, overwrites, failed writes. */
export function describeWriteRead({ fixture }: AreaContext): void {
  describe('write and read', () => {
    const driver = useDriver(fixture);

    it('writes bytes and reads them back, reporting the size', async () => {
      const result = await driver().write('hello.txt', Buffer.from('hello, world'));
      expect(result.size).toBe(12);
      expect(await readText(driver(), 'hello.txt')).toBe('hello, world');
    });

    it('writes from a multi-chunk stream and reads back as a stream', async () => {
      const parts = [seededBytes(70_000, 1), seededBytes(1, 2), seededBytes(200_000, 3)];
      const result = await driver().write('streamed.bin', streamOf(...parts));
      expect(result.size).toBe(270_001);
      const stream = await driver().read('streamed.bin');
      expect(stream).toBeInstanceOf(Readable);
      expect((await collect(stream)).equals(Buffer.concat(parts))).toBe(true);
    });

    it('writes an empty stream and reads back zero bytes', async () => {
      const result = await driver().write('empty.txt', streamOf());
      expect(result.size).toBe(0);
      expect((await readBytes(driver(), 'empty.txt')).length).toBe(0);
      const stat = await driver().stat('empty.txt');
      expect(stat.type).toBe('file');
      expect(stat.size).toBe(0);
    });

    it('overwrites with shorter content, leaving no tail of the old one', async () => {
      await writeText(driver(), 'over.txt', 'a much longer first version');
      await writeText(driver(), 'over.txt', 'short');
      expect(await readText(driver(), 'over.txt')).toBe('short');
      expect((await driver().stat('over.txt')).size).toBe(5);
    });

    it('overwrite replaces visibility too', async (ctx) => {
      requireCapability(ctx, driver(), 'visibility');
      await writeText(driver(), 'over-vis.txt', 'one', { visibility: 'public' });
      expect(await driver().getVisibility('over-vis.txt')).toBe('public');
      await writeText(driver(), 'over-vis.txt', 'two', { visibility: 'private' });
      expect(await driver().getVisibility('over-vis.txt')).toBe('private');
      await writeText(driver(), 'over-vis.txt', 'three', { visibility: 'public' });
      expect(await driver().getVisibility('over-vis.txt')).toBe('public');
      expect(await readText(driver(), 'over-vis.txt')).toBe('three');
    });

    it('creates missing parent directories on write', async () => {
      await writeText(driver(), 'deep/er/and/deeper/file.txt', 'nested');
      expect(await readText(driver(), 'deep/er/and/deeper/file.txt')).toBe('nested');
      expect((await driver().stat('deep/er/and/deeper')).type).toBe('directory');
    });

    it('answers in normalized keys: "./", "//" and inner ".." are resolved', async () => {
      await writeText(driver(), 'norm/./a//b/../c.txt', 'normalized');
      const stat = await driver().stat('norm/a/c.txt');
      expect(stat.path).toBe('norm/a/c.txt');
      expect(await readText(driver(), 'norm//a/./c.txt')).toBe('normalized');
      await expectCode(driver().stat('norm/a/b/c.txt'), 'ENOENT');
    });

    it('a write whose body fails midway rejects with an FsError and leaves nothing behind', async () => {
      const err = await driver()
        .write('broken.bin', failingStream(seededBytes(256 * 1024, 9)))
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      expect(err, 'the write must reject with an FsError').toBeInstanceOf(FsError);
      await expectCode(driver().stat('broken.bin'), 'ENOENT');
    });

    it('a failed overwrite keeps the previous content intact', async () => {
      await writeText(driver(), 'keep.txt', 'the original content');
      const body = failingStream(Buffer.from('partial new content that must not land'));
      await expect(driver().write('keep.txt', body)).rejects.toBeInstanceOf(FsError);
      expect(await readText(driver(), 'keep.txt')).toBe('the original content');
    });
  });
}
