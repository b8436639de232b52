import { describe, expect, it } from 'vitest';
import { expectCode, perms, type SuiteContext } from './context.js';

/** Directories: readdir, mkdir, rmdir, unlink, rename of files and directories. */
export function directoryCases(ctx: SuiteContext): void {
  describe('directories', () => {
    it('readdir lists exactly the entries, without . and ..', async () => {
      const fs = ctx.fs();
      const dir = await ctx.scratch('readdir');
      expect(await fs.readdir(dir)).toEqual([]);
      await fs.writeFile(`${dir}/b`, 'b');
      await fs.writeFile(`${dir}/a`, 'a');
      await fs.writeFile(`${dir}/c.txt`, 'c');
      await fs.mkdir(`${dir}/d`);
      await fs.symlink('a', `${dir}/e`);
      await fs.writeFile(`${dir}/d/inner`, 'x');
      expect(await fs.readdir(dir)).toEqual(['a', 'b', 'c.txt', 'd', 'e']);
      await fs.unlink(`${dir}/b`);
      expect(await fs.readdir(dir)).toEqual(['a', 'c.txt', 'd', 'e']);
      expect(await fs.readdir(`${dir}/d`)).toEqual(['inner']);
    });

    it('lists a directory of 150 entries completely', async () => {
      const fs = ctx.fs();
      const dir = await ctx.scratch('many');
      const names = Array.from({ length: 150 }, (_, i) => `f${String(i).padStart(3, '0')}`);
      for (const name of names) await fs.writeFile(`${dir}/${name}`, name);
      expect(await fs.readdir(dir)).toEqual(names);
    });

    it('mkdir creates nested directories with their modes', async () => {
      const fs = ctx.fs();
      const dir = await ctx.scratch('mkdir');
      await fs.mkdir(`${dir}/x/y/z`, { recursive: true });
      for (const p of ['x', 'x/y', 'x/y/z']) {
        const st = await fs.stat(`${dir}/${p}`);
        expect(st.isDirectory(), p).toBe(true);
        expect(perms(st.mode), p).toBe(0o755);
      }
      expect(await fs.readdir(`${dir}/x`)).toEqual(['y']);
      await fs.mkdir(`${dir}/m`, { mode: 0o700 });
      expect(perms((await fs.stat(`${dir}/m`)).mode)).toBe(0o700);
      await expectCode(fs.mkdir(`${dir}/no/such/parent`), 'ENOENT');
    });

    it('rmdir removes an empty directory and refuses a non-empty one', async () => {
      const fs = ctx.fs();
      const dir = await ctx.scratch('rmdir');
      await fs.mkdir(`${dir}/full`);
      await fs.writeFile(`${dir}/full/f`, 'x');
      await expectCode(fs.rmdir(`${dir}/full`), 'ENOTEMPTY');
      expect(await fs.readdir(`${dir}/full`)).toEqual(['f']);
      await fs.mkdir(`${dir}/empty`);
      await fs.rmdir(`${dir}/empty`);
      await expectCode(fs.stat(`${dir}/empty`), 'ENOENT');
      await expectCode(fs.rmdir(`${dir}/empty`), 'ENOENT');
      expect(await fs.readdir(dir)).toEqual(['full']);
    });

    it('unlink removes a file', async () => {
      const fs = ctx.fs();
      const dir = await ctx.scratch('unlink');
      await fs.writeFile(`${dir}/f`, 'x');
      await fs.unlink(`${dir}/f`);
      await expectCode(fs.stat(`${dir}/f`), 'ENOENT');
      await expectCode(fs.readFile(`${dir}/f`), 'ENOENT');
      await expectCode(fs.unlink(`${dir}/f`), 'ENOENT');
      expect(await fs.readdir(dir)).toEqual([]);
    });

    it('rename moves a file, within and across directories', async () => {
      const fs = ctx.fs();
      const dir = await ctx.scratch('rename-file');
      await fs.mkdir(`${dir}/other`);
      await fs.writeFile(`${dir}/a`, 'content a');
      const ino = (await fs.stat(`${dir}/a`)).ino;
      await fs.rename(`${dir}/a`, `${dir}/b`);
      await expectCode(fs.stat(`${dir}/a`), 'ENOENT');
      expect((await fs.readFile(`${dir}/b`)).toString()).toBe('content a');
      expect((await fs.stat(`${dir}/b`)).ino).toBe(ino);
      await fs.rename(`${dir}/b`, `${dir}/other/c`);
      expect(await fs.readdir(dir)).toEqual(['other']);
      expect(await fs.readdir(`${dir}/other`)).toEqual(['c']);
      expect((await fs.readFile(`${dir}/other/c`)).toString()).toBe('content a');
      await expectCode(fs.rename(`${dir}/missing`, `${dir}/x`), 'ENOENT');
    });

    it('rename replaces an existing file', async () => {
      const fs = ctx.fs();
      const dir = await ctx.scratch('rename-replace');
      await fs.writeFile(`${dir}/src`, 'new content');
      await fs.writeFile(`${dir}/dst`, 'old content that is longer');
      await fs.rename(`${dir}/src`, `${dir}/dst`);
      expect(await fs.readdir(dir)).toEqual(['dst']);
      expect((await fs.readFile(`${dir}/dst`)).toString()).toBe('new content');
      expect((await fs.stat(`${dir}/dst`)).size).toBe(11);
    });

    it('rename moves a directory with everything below it', async () => {
      const fs = ctx.fs();
      const dir = await ctx.scratch('rename-dir');
      await fs.mkdir(`${dir}/d/sub/deeper`, { recursive: true });
      await fs.writeFile(`${dir}/d/top.txt`, 'top');
      await fs.writeFile(`${dir}/d/sub/deeper/leaf.txt`, 'leaf');
      await fs.mkdir(`${dir}/d/empty`);
      await fs.rename(`${dir}/d`, `${dir}/moved`);
      expect(await fs.readdir(dir)).toEqual(['moved']);
      expect(await fs.readdir(`${dir}/moved`)).toEqual(['empty', 'sub', 'top.txt']);
      expect((await fs.readFile(`${dir}/moved/top.txt`)).toString()).toBe('top');
      expect((await fs.readFile(`${dir}/moved/sub/deeper/leaf.txt`)).toString()).toBe('leaf');
      expect(await fs.readdir(`${dir}/moved/empty`)).toEqual([]);
      await expectCode(fs.stat(`${dir}/d/top.txt`), 'ENOENT');
    });

    it('rename of a directory over an empty directory replaces it; over a non-empty one is ENOTEMPTY', async () => {
      const fs = ctx.fs();
      const dir = await ctx.scratch('rename-dir-over');
      await fs.mkdir(`${dir}/src`);
      await fs.writeFile(`${dir}/src/f`, 'f');
      await fs.mkdir(`${dir}/full`);
      await fs.writeFile(`${dir}/full/g`, 'g');
      await expectCode(fs.rename(`${dir}/src`, `${dir}/full`), 'ENOTEMPTY');
      expect(await fs.readdir(`${dir}/full`)).toEqual(['g']);
      expect(await fs.readdir(`${dir}/src`)).toEqual(['f']);
      await fs.mkdir(`${dir}/empty`);
      await fs.rename(`${dir}/src`, `${dir}/empty`);
      expect(await fs.readdir(dir)).toEqual(['empty', 'full']);
      expect((await fs.readFile(`${dir}/empty/f`)).toString()).toBe('f');
    });

    it('rename of a directory into its own subtree is EINVAL; type mismatches are EISDIR/ENOTDIR', async () => {
      const fs = ctx.fs();
      const dir = await ctx.scratch('rename-invalid');
      await fs.mkdir(`${dir}/d/child`, { recursive: true });
      await expectCode(fs.rename(`${dir}/d`, `${dir}/d/child/d`), 'EINVAL');
      await fs.writeFile(`${dir}/file`, 'x');
      await expectCode(fs.rename(`${dir}/file`, `${dir}/d`), 'EISDIR');
      await expectCode(fs.rename(`${dir}/d`, `${dir}/file`), 'ENOTDIR');
      expect(await fs.readdir(dir)).toEqual(['d', 'file']);
      expect(await fs.readdir(`${dir}/d`)).toEqual(['child']);
    });
  });
}
