import { describe, expect, it } from 'vitest';
import { expectCode, type SuiteContext } from './context.js';

/** Symbolic and hard links. */
export function linkCases(ctx: SuiteContext): void {
  describe('links', () => {
    it('symlink and readlink; stat follows, lstat does not', async () => {
      const fs = ctx.fs();
      const dir = await ctx.scratch('symlink');
      await fs.writeFile(`${dir}/target.txt`, 'pointed at');
      await fs.symlink('target.txt', `${dir}/link`);
      expect(await fs.readlink(`${dir}/link`)).toBe('target.txt');
      const l = await fs.lstat(`${dir}/link`);
      expect(l.isSymbolicLink()).toBe(true);
      expect(l.size).toBe('target.txt'.length);
      const s = await fs.stat(`${dir}/link`);
      expect(s.isFile()).toBe(true);
      expect(s.size).toBe(10);
      expect((await fs.readFile(`${dir}/link`)).toString()).toBe('pointed at');
      await fs.writeFile(`${dir}/link`, 'through the link');
      expect((await fs.readFile(`${dir}/target.txt`)).toString()).toBe('through the link');
    });

    it('symlinks to directories, relative with .., and dangling ones', async () => {
      const fs = ctx.fs();
      const dir = await ctx.scratch('symlink-dir');
      await fs.mkdir(`${dir}/real/inner`, { recursive: true });
      await fs.writeFile(`${dir}/real/inner/f`, 'deep');
      await fs.symlink('real/inner', `${dir}/short`);
      expect((await fs.readFile(`${dir}/short/f`)).toString()).toBe('deep');
      expect(await fs.readdir(`${dir}/short`)).toEqual(['f']);
      await fs.symlink('../f', `${dir}/real/inner/up`);
      await fs.writeFile(`${dir}/real/f`, 'one up');
      expect((await fs.readFile(`${dir}/real/inner/up`)).toString()).toBe('one up');
      await fs.symlink('nowhere', `${dir}/dangling`);
      expect(await fs.readlink(`${dir}/dangling`)).toBe('nowhere');
      await expectCode(fs.stat(`${dir}/dangling`), 'ENOENT');
      expect((await fs.lstat(`${dir}/dangling`)).isSymbolicLink()).toBe(true);
      await fs.unlink(`${dir}/dangling`);
      await expectCode(fs.lstat(`${dir}/dangling`), 'ENOENT');
      await expectCode(fs.readlink(`${dir}/real/f`), 'EINVAL');
    });

    it('hard link: two names, one inode, nlink 2, same content', async () => {
      const fs = ctx.fs();
      const dir = await ctx.scratch('hardlink');
      await fs.mkdir(`${dir}/sub`);
      await fs.writeFile(`${dir}/a`, 'shared');
      await fs.link(`${dir}/a`, `${dir}/sub/b`);
      const a = await fs.stat(`${dir}/a`);
      const b = await fs.stat(`${dir}/sub/b`);
      expect(a.nlink).toBe(2);
      expect(b.nlink).toBe(2);
      expect(b.ino).toBe(a.ino);
      expect((await fs.readFile(`${dir}/sub/b`)).toString()).toBe('shared');
      await fs.writeFile(`${dir}/a`, 'changed through a');
      expect((await fs.readFile(`${dir}/sub/b`)).toString()).toBe('changed through a');
      await fs.unlink(`${dir}/a`);
      expect((await fs.stat(`${dir}/sub/b`)).nlink).toBe(1);
      expect((await fs.readFile(`${dir}/sub/b`)).toString()).toBe('changed through a');
      await expectCode(fs.link(`${dir}/sub`, `${dir}/dirlink`), 'EPERM');
      await fs.writeFile(`${dir}/c`, 'c');
      await expectCode(fs.link(`${dir}/c`, `${dir}/sub/b`), 'EEXIST');
    });
  });
}
