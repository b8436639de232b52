import { describe, expect, it } from 'vitest';
import { expectCode, listAll, readText, requireCapability, useDriver, writeText, type AreaContext } from './support.js';

/** Existence: files, deletes, implied and empty directories, files vs directories. */
export function describeExistence({ fixture }: AreaContext): void {
  describe('existence', () => {
    const driver = useDriver(fixture);

    it('a file exists only after it is written and until it is deleted', async () => {
      await expectCode(driver().stat('life.txt'), 'ENOENT');
      await expectCode(driver().read('life.txt'), 'ENOENT');
      await writeText(driver(), 'life.txt', 'alive');
      const stat = await driver().stat('life.txt');
      expect(stat.type).toBe('file');
      expect(stat.path).toBe('life.txt');
      await driver().delete('life.txt');
      await expectCode(driver().stat('life.txt'), 'ENOENT');
      await expectCode(driver().read('life.txt'), 'ENOENT');
    });

    it('deleting a missing file succeeds silently, twice', async () => {
      await driver().delete('never-written.txt');
      await driver().delete('never-written.txt');
      await driver().delete('missing-dir/never-written.txt');
      await expectCode(driver().stat('never-written.txt'), 'ENOENT');
    });

    it('deleting a file leaves its siblings alone', async () => {
      await writeText(driver(), 'siblings/a.txt', 'a');
      await writeText(driver(), 'siblings/b.txt', 'b');
      await driver().delete('siblings/a.txt');
      expect(await readText(driver(), 'siblings/b.txt')).toBe('b');
      await expectCode(driver().stat('siblings/a.txt'), 'ENOENT');
    });

    it('a directory implied by a nested file exists, as a directory', async () => {
      await writeText(driver(), 'implied/a/b/file.txt', 'x');
      for (const dir of ['implied', 'implied/a', 'implied/a/b']) {
        const stat = await driver().stat(dir);
        expect(stat.type, dir).toBe('directory');
        expect(stat.path).toBe(dir);
        expect(stat.size).toBe(0);
      }
    });

    it('a created empty directory exists and lists empty', async (ctx) => {
      requireCapability(ctx, driver(), 'emptyDirectories');
      await driver().createDirectory('made/empty');
      expect((await driver().stat('made/empty')).type).toBe('directory');
      expect((await driver().stat('made')).type).toBe('directory');
      expect((await listAll(driver(), 'made/empty', { recursive: false })).entries).toEqual([]);
      expect((await listAll(driver(), 'made', { recursive: false })).entries.map((e) => `${e.type}:${e.path}`)).toEqual([
        'directory:made/empty',
      ]);
    });

    it('creating a directory is idempotent and keeps its files', async () => {
      await writeText(driver(), 'again/kept.txt', 'kept');
      await driver().createDirectory('again');
      await driver().createDirectory('again/');
      expect((await driver().stat('again')).type).toBe('directory');
      expect(await readText(driver(), 'again/kept.txt')).toBe('kept');
    });

    it('after deleteDirectory, neither the directory nor anything below it exists', async () => {
      await writeText(driver(), 'doomed/one.txt', '1');
      await writeText(driver(), 'doomed/sub/two.txt', '2');
      await writeText(driver(), 'doomed/sub/deeper/three.txt', '3');
      await writeText(driver(), 'doomed-sibling/keep.txt', 'keep');
      if (driver().capabilities.emptyDirectories) await driver().createDirectory('doomed/empty');
      await driver().deleteDirectory('doomed');
      for (const path of ['doomed', 'doomed/one.txt', 'doomed/sub', 'doomed/sub/two.txt', 'doomed/sub/deeper/three.txt', 'doomed/empty']) {
        await expectCode(driver().stat(path), 'ENOENT');
      }
      expect((await listAll(driver(), 'doomed', { recursive: true })).entries).toEqual([]);
      expect(await readText(driver(), 'doomed-sibling/keep.txt')).toBe('keep');
    });

    it('deleting an empty directory removes it', async (ctx) => {
      requireCapability(ctx, driver(), 'emptyDirectories');
      await driver().createDirectory('bare');
      await driver().deleteDirectory('bare');
      await expectCode(driver().stat('bare'), 'ENOENT');
    });

    it('deleting a missing directory succeeds silently', async () => {
      await driver().deleteDirectory('no-such-dir');
      await driver().deleteDirectory('no/such/nested/dir');
    });

    it('a directory is not a file: read is EISDIR, stat says directory, delete leaves its files', async () => {
      await writeText(driver(), 'kind/dir/file.txt', 'content');
      const stat = await driver().stat('kind/dir');
      expect(stat.type).toBe('directory');
      expect(stat.size).toBe(0);
      await expectCode(driver().read('kind/dir'), 'EISDIR');
      await expectCode(driver().checksum('kind/dir'), 'EISDIR', 'ENOENT');
      // delete() is for files: EISDIR where the backend can tell, otherwise a no-op.
      await driver()
        .delete('kind/dir')
        .catch(async (err: unknown) => {
          await expectCode(Promise.reject(err), 'EISDIR');
        });
      expect(await readText(driver(), 'kind/dir/file.txt')).toBe('content');
    });

    it('a file is not a directory: stat says file, listing it is ENOTDIR', async () => {
      await writeText(driver(), 'kind/plain.txt', 'plain');
      const stat = await driver().stat('kind/plain.txt');
      expect(stat.type).toBe('file');
      expect(stat.size).toBe(5);
      await expectCode(driver().list('kind/plain.txt', { recursive: false }), 'ENOTDIR');
    });

    it('a file path used as a directory does not exist below it', async () => {
      await writeText(driver(), 'kind/leaf.txt', 'leaf');
      await expectCode(driver().stat('kind/leaf.txt/child'), 'ENOENT', 'ENOTDIR');
      await expectCode(driver().read('kind/leaf.txt/child'), 'ENOENT', 'ENOTDIR');
    });
  });
}
