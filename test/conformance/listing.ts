import { describe, expect, it } from 'vitest';
import type { FileStat } from '../../src/drivers/types.js';
import { describeEntries, expectCode, listAll, requireCapability, runLimited, useDriver, writeText, type AreaContext } from './support.js';

const MANY = 2500;
const PAGE_SIZE = 400;

/** Listing: shallow and deep exactness, root-relative keys, paging through 2,500 keys. */
export function describeListing({ fixture }: AreaContext): void {
  describe('listing', () => {
    const driver = useDriver(fixture);
    const files = ['tree/a.txt', 'tree/b.txt', 'tree/sub/c.txt', 'tree/sub/deeper/d.txt', 'tree/other/e.txt'];
    let hasEmptyDir = false;

    it('writes the tree the listings read', async () => {
      for (const file of files) await writeText(driver(), file, file);
      hasEmptyDir = driver().capabilities.emptyDirectories;
      if (hasEmptyDir) await driver().createDirectory('tree/empty');
      expect((await driver().stat('tree/sub/deeper/d.txt')).size).toBe('tree/sub/deeper/d.txt'.length);
    });

    it('shallow: exactly the files and immediate subfolders, root-relative, no trailing slash', async () => {
      const { entries } = await listAll(driver(), 'tree', { recursive: false });
      const expected = ['file:tree/a.txt', 'file:tree/b.txt', 'directory:tree/other', 'directory:tree/sub'];
      if (hasEmptyDir) expected.push('directory:tree/empty');
      expect(describeEntries(entries)).toEqual(expected.sort());
      checkWellFormed(entries);
    });

    it('shallow: file entries carry their size, directories size 0', async () => {
      const { entries } = await listAll(driver(), 'tree', { recursive: false });
      const a = entries.find((e) => e.path === 'tree/a.txt');
      expect(a?.size).toBe('tree/a.txt'.length);
      for (const dir of entries.filter((e) => e.type === 'directory')) expect(dir.size).toBe(0);
    });

    it('deep: every file once and every folder once', async () => {
      const { entries } = await listAll(driver(), 'tree', { recursive: true });
      const expected = [
        ...files.map((f) => `file:${f}`),
        'directory:tree/sub',
        'directory:tree/sub/deeper',
        'directory:tree/other',
      ];
      if (hasEmptyDir) expected.push('directory:tree/empty');
      expect(describeEntries(entries)).toEqual(expected.sort());
      checkWellFormed(entries);
    });

    it('the root lists its top-level entries ("" and "." name the root)', async () => {
      for (const root of ['', '.']) {
        const { entries } = await listAll(driver(), root, { recursive: false });
        expect(describeEntries(entries), `list(${JSON.stringify(root)})`).toContain('directory:tree');
        checkWellFormed(entries);
      }
    });

    it('a trailing slash on the folder changes nothing', async () => {
      const plain = await listAll(driver(), 'tree/sub', { recursive: false });
      const slashed = await listAll(driver(), 'tree/sub/', { recursive: false });
      expect(describeEntries(slashed.entries)).toEqual(describeEntries(plain.entries));
      expect(describeEntries(plain.entries)).toEqual(['directory:tree/sub/deeper', 'file:tree/sub/c.txt']);
    });

    it('a missing folder lists as empty; a file is ENOTDIR', async () => {
      const page = await driver().list('no-such-folder', { recursive: false });
      expect(page.entries).toEqual([]);
      expect(page.cursor).toBeUndefined();
      expect((await listAll(driver(), 'no/such/folder', { recursive: true })).entries).toEqual([]);
      await expectCode(driver().list('tree/a.txt', { recursive: false }), 'ENOTDIR');
    });

    it('a prefix that is not a folder boundary does not leak in ("tree" vs "tree-x")', async () => {
      await writeText(driver(), 'tree-x/sneaky.txt', 'x');
      await writeText(driver(), 'treefile.txt', 'x');
      const { entries } = await listAll(driver(), 'tree', { recursive: true });
      expect(entries.every((e) => e.path.startsWith('tree/'))).toBe(true);
    });

    it('creating a directory twice is fine and it lists once', async (ctx) => {
      requireCapability(ctx, driver(), 'emptyDirectories');
      await driver().createDirectory('twice/dir');
      await driver().createDirectory('twice/dir');
      await driver().createDirectory('twice/dir/');
      const { entries } = await listAll(driver(), 'twice', { recursive: true });
      expect(describeEntries(entries)).toEqual(['directory:twice/dir']);
    });

    it('a created directory that also holds files lists once, shallow and deep', async (ctx) => {
      requireCapability(ctx, driver(), 'emptyDirectories');
      await driver().createDirectory('both/dir');
      await writeText(driver(), 'both/dir/file.txt', 'f');
      await driver().createDirectory('both/dir');
      const shallow = await listAll(driver(), 'both', { recursive: false });
      expect(describeEntries(shallow.entries)).toEqual(['directory:both/dir']);
      const deep = await listAll(driver(), 'both', { recursive: true });
      expect(describeEntries(deep.entries)).toEqual(['directory:both/dir', 'file:both/dir/file.txt']);
    });

    describe(`${MANY} keys across pages`, () => {
      const keys = Array.from({ length: MANY }, (_, i) => `many/k${String(i).padStart(5, '0')}.txt`);

      it(`writes ${MANY} keys (32 at a time)`, async () => {
        await runLimited(keys, 32, async (key) => {
          await driver().write(key, Buffer.from(key));
        });
      }, 300_000);

      for (const recursive of [false, true]) {
        it(`${recursive ? 'deep' : 'shallow'} listing with pageSize ${PAGE_SIZE} returns each key exactly once`, async () => {
          const { entries, pages } = await listAll(driver(), 'many', { recursive, pageSize: PAGE_SIZE });
          const paths = entries.map((e) => e.path);
          const unique = new Set(paths);
          expect(paths.length - unique.size, 'repeated entries').toBe(0);
          expect(keys.filter((k) => !unique.has(k)), 'lost entries').toEqual([]);
          expect(paths.length).toBe(MANY);
          expect(pages).toBeGreaterThanOrEqual(Math.ceil(MANY / PAGE_SIZE));
          expect(entries.every((e) => e.type === 'file')).toBe(true);
        }, 120_000);
      }
    });
  });
}

/** Root-relative keys, no leading/trailing slash, no duplicates, no '.' or '..' segments. */
function checkWellFormed(entries: FileStat[]): void {
  const paths = entries.map((e) => e.path);
  expect(new Set(paths).size, `duplicates in ${JSON.stringify(paths)}`).toBe(paths.length);
  for (const path of paths) {
    expect(path.startsWith('/'), `leading slash: ${path}`).toBe(false);
    expect(path.endsWith('/'), `trailing slash: ${path}`).toBe(false);
    expect(path.split('/').some((s) => s === '' || s === '.' || s === '..'), `bad segment: ${path}`).toBe(false);
  }
}
