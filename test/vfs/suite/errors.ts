import { describe, expect, it } from 'vitest';
import { expectCode, type SuiteContext } from './context.js';

/** The errno answers: EEXIST, EISDIR, ENOTDIR, ENAMETOOLONG, ENOENT. */
export function errorCases(ctx: SuiteContext): void {
  describe('errors', () => {
    it('EEXIST: mkdir of an existing name, O_EXCL create, symlink over a name', async () => {
      const fs = ctx.fs();
      const dir = await ctx.scratch('eexist');
      await fs.mkdir(`${dir}/d`);
      await fs.writeFile(`${dir}/f`, 'keep me');
      await expectCode(fs.mkdir(`${dir}/d`), 'EEXIST');
      await expectCode(fs.mkdir(`${dir}/f`), 'EEXIST');
      await expectCode(fs.writeFile(`${dir}/f`, 'clobber', { flag: 'wx' }), 'EEXIST');
      await expectCode(fs.open(`${dir}/d`, 'wx'), 'EEXIST');
      await expectCode(fs.symlink('x', `${dir}/f`), 'EEXIST');
      expect((await fs.readFile(`${dir}/f`)).toString()).toBe('keep me');
      await fs.writeFile(`${dir}/new`, 'fresh', { flag: 'wx' });
      expect((await fs.readFile(`${dir}/new`)).toString()).toBe('fresh');
    });

    it('EISDIR: writing or reading a directory as a file, unlinking a directory', async () => {
      const fs = ctx.fs();
      const dir = await ctx.scratch('eisdir');
      await fs.mkdir(`${dir}/d`);
      await expectCode(fs.open(`${dir}/d`, 'w'), 'EISDIR');
      await expectCode(fs.open(`${dir}/d`, 'r+'), 'EISDIR');
      await expectCode(fs.writeFile(`${dir}/d`, 'x'), 'EISDIR');
      await expectCode(fs.readFile(`${dir}/d`), 'EISDIR');
      await expectCode(fs.unlink(`${dir}/d`), 'EISDIR');
      expect((await fs.stat(`${dir}/d`)).isDirectory()).toBe(true);
    });

    it('ENOTDIR: a path through a file, readdir/rmdir of a file', async () => {
      const fs = ctx.fs();
      const dir = await ctx.scratch('enotdir');
      await fs.writeFile(`${dir}/f`, 'x');
      await expectCode(fs.stat(`${dir}/f/x`), 'ENOTDIR');
      await expectCode(fs.writeFile(`${dir}/f/x`, 'y'), 'ENOTDIR');
      await expectCode(fs.mkdir(`${dir}/f/x`), 'ENOTDIR');
      await expectCode(fs.readdir(`${dir}/f`), 'ENOTDIR');
      await expectCode(fs.rmdir(`${dir}/f`), 'ENOTDIR');
      expect((await fs.readFile(`${dir}/f`)).toString()).toBe('x');
    });

    it('ENAMETOOLONG for a 256-byte name; long names the backend holds work', async () => {
      const fs = ctx.fs();
      const dir = await ctx.scratch('enametoolong');
      const tooLong = 'n'.repeat(256);
      await expectCode(fs.writeFile(`${dir}/${tooLong}`, 'x'), 'ENAMETOOLONG');
      await expectCode(fs.mkdir(`${dir}/${tooLong}`), 'ENAMETOOLONG');
      await expectCode(fs.stat(`${dir}/${tooLong}`), 'ENAMETOOLONG');
      await fs.writeFile(`${dir}/short`, 'x');
      await expectCode(fs.rename(`${dir}/short`, `${dir}/${tooLong}`), 'ENAMETOOLONG');
      // As long as the backend allows (255 bytes on local), in three-byte UTF-8 characters.
      const bytes = ctx.target().backend.longestName;
      const longest = 'a'.repeat(bytes % 3) + '語'.repeat(Math.floor(bytes / 3));
      expect(Buffer.byteLength(longest)).toBe(bytes);
      await fs.writeFile(`${dir}/${longest}`, 'fits');
      expect((await fs.readFile(`${dir}/${longest}`)).toString()).toBe('fits');
      expect(await fs.readdir(dir)).toEqual(['short', longest].sort());
      await expectCode(fs.writeFile(`${dir}/${'語'.repeat(86)}`, 'x'), 'ENAMETOOLONG');
    });

    it('ENOENT for missing names and missing parents', async () => {
      const fs = ctx.fs();
      const dir = await ctx.scratch('enoent');
      await expectCode(fs.readFile(`${dir}/missing`), 'ENOENT');
      await expectCode(fs.stat(`${dir}/missing`), 'ENOENT');
      await expectCode(fs.writeFile(`${dir}/no/parent`, 'x'), 'ENOENT');
      await expectCode(fs.readdir(`${dir}/missing`), 'ENOENT');
      await expectCode(fs.open(`${dir}/missing`, 'r'), 'ENOENT');
      await expectCode(fs.chmod(`${dir}/missing`, 0o600), 'ENOENT');
    });
  });
}
