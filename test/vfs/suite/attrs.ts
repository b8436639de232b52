import { describe, expect, it } from 'vitest';
import { expectCode, perms, type SuiteContext } from './context.js';

const SECOND = 1_000_000_000n;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** chmod, chown, utimes, times updated by writes, statfs, xattrs. */
export function attributeCases(ctx: SuiteContext): void {
  describe('attributes', () => {
    it('chmod is reflected in stat, for files and directories', async () => {
      const fs = ctx.fs();
      const dir = await ctx.scratch('chmod');
      await fs.writeFile(`${dir}/f`, 'x');
      await fs.chmod(`${dir}/f`, 0o600);
      expect(perms((await fs.stat(`${dir}/f`)).mode)).toBe(0o600);
      expect((await fs.stat(`${dir}/f`)).isFile()).toBe(true);
      await fs.chmod(`${dir}/f`, 0o4751);
      expect(perms((await fs.stat(`${dir}/f`)).mode)).toBe(0o4751);
      await fs.mkdir(`${dir}/d`);
      await fs.chmod(`${dir}/d`, 0o700);
      const st = await fs.stat(`${dir}/d`);
      expect(perms(st.mode)).toBe(0o700);
      expect(st.isDirectory()).toBe(true);
    });

    it('chown (as root) is reflected in stat', async () => {
      const fs = ctx.fs();
      const dir = await ctx.scratch('chown');
      await fs.writeFile(`${dir}/f`, 'x');
      await fs.chown(`${dir}/f`, 1234, 5678);
      const st = await fs.stat(`${dir}/f`);
      expect([st.uid, st.gid]).toEqual([1234, 5678]);
      await fs.chown(`${dir}/f`, 1234, 42);
      expect((await fs.stat(`${dir}/f`)).gid).toBe(42);
    });

    it('utimes sets atime and mtime exactly', async () => {
      const fs = ctx.fs();
      const dir = await ctx.scratch('utimes');
      await fs.writeFile(`${dir}/f`, 'x');
      await fs.utimes(`${dir}/f`, 1_000_000_000n * SECOND, 1_500_000_000n * SECOND + 250_000_000n);
      const st = await fs.stat(`${dir}/f`);
      expect(st.atimeNs).toBe(1_000_000_000n * SECOND);
      expect(st.mtimeNs).toBe(1_500_000_000n * SECOND + 250_000_000n);
      await fs.mkdir(`${dir}/d`);
      await fs.utimes(`${dir}/d`, 1_600_000_000n * SECOND, 1_600_000_001n * SECOND);
      expect((await fs.stat(`${dir}/d`)).mtimeNs).toBe(1_600_000_001n * SECOND);
    });

    it('writes and truncate advance mtime and ctime; chmod advances ctime only', async () => {
      const fs = ctx.fs();
      const dir = await ctx.scratch('times');
      await fs.writeFile(`${dir}/f`, 'x');
      const old = 1_000_000_000n * SECOND;
      await fs.utimes(`${dir}/f`, old, old);
      const before = await fs.stat(`${dir}/f`);
      const now = BigInt(Date.now()) * 1_000_000n;
      const h = await fs.open(`${dir}/f`, 'r+');
      await h.write(Buffer.from('y'), 1);
      await h.close();
      const afterWrite = await fs.stat(`${dir}/f`);
      expect(afterWrite.mtimeNs).toBeGreaterThan(old);
      expect(afterWrite.mtimeNs).toBeGreaterThanOrEqual(now - 2n * SECOND);
      expect(afterWrite.ctimeNs).toBeGreaterThanOrEqual(before.ctimeNs);
      await fs.utimes(`${dir}/f`, old, old);
      await fs.truncate(`${dir}/f`, 1);
      expect((await fs.stat(`${dir}/f`)).mtimeNs).toBeGreaterThan(old);
      const beforeChmod = await fs.stat(`${dir}/f`);
      await sleep(20);
      await fs.chmod(`${dir}/f`, 0o640);
      const afterChmod = await fs.stat(`${dir}/f`);
      expect(afterChmod.ctimeNs).toBeGreaterThan(beforeChmod.ctimeNs);
      expect(afterChmod.mtimeNs).toBe(beforeChmod.mtimeNs);
    });

    it('creating and removing entries advances the directory mtime', async () => {
      const fs = ctx.fs();
      const dir = await ctx.scratch('dir-times');
      const old = 1_000_000_000n * SECOND;
      await fs.utimes(dir, old, old);
      await fs.writeFile(`${dir}/f`, 'x');
      const afterCreate = await fs.stat(dir);
      expect(afterCreate.mtimeNs).toBeGreaterThan(old);
      await fs.utimes(dir, old, old);
      await fs.unlink(`${dir}/f`);
      expect((await fs.stat(dir)).mtimeNs).toBeGreaterThan(old);
    });

    it('statfs gives sane numbers', async () => {
      const s = await ctx.fs().statfs('/');
      expect(s.bsize).toBeGreaterThan(0);
      expect(s.blocks).toBeGreaterThan(0);
      expect(s.bfree).toBeLessThanOrEqual(s.blocks);
      expect(s.bavail).toBeLessThanOrEqual(s.blocks);
      expect(s.ffree).toBeLessThanOrEqual(s.files);
    });

    it('extended attributes: set, get, list, remove, ENODATA', async (test) => {
      const fs = ctx.fs();
      if (fs.xattr === null) test.skip('no xattr tool (python3 os.getxattr) to reach them through the mount');
      const x = fs.xattr!;
      const dir = await ctx.scratch('xattr');
      await fs.writeFile(`${dir}/f`, 'x');
      await x.set(`${dir}/f`, 'user.color', Buffer.from('blue'));
      await x.set(`${dir}/f`, 'user.bin', Buffer.from([0, 1, 2, 255]));
      expect((await x.get(`${dir}/f`, 'user.color')).toString()).toBe('blue');
      expect([...(await x.get(`${dir}/f`, 'user.bin'))]).toEqual([0, 1, 2, 255]);
      expect(await x.list(`${dir}/f`)).toEqual(['user.bin', 'user.color']);
      await x.set(`${dir}/f`, 'user.color', Buffer.from('red'));
      expect((await x.get(`${dir}/f`, 'user.color')).toString()).toBe('red');
      await x.remove(`${dir}/f`, 'user.color');
      await expectCode(x.get(`${dir}/f`, 'user.color'), 'ENODATA');
      await expectCode(x.get(`${dir}/f`, 'user.never'), 'ENODATA');
      expect(await x.list(`${dir}/f`)).toEqual(['user.bin']);
    });
  });
}
