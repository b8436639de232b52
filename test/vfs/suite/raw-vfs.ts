import { constants } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ROOT_INO, type Caller, type Vfs } from '../../../src/daemon/vfs/types.js';
import { expectCode, perms, type SuiteContext } from './context.js';

const ROOT: Caller = { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0, pid: process.pid };
const NOBODY: Caller = { uid: 65534, gid: 65534, pid: 1 };

/**
 * Vfs contract cases the kernel would never send through a mount (it checks
 * them itself) but the Vfs promises anyway, plus its owner-only rules: run on
 * direct targets only.
 */
export function rawVfsCases(ctx: SuiteContext): void {
  describe('raw Vfs contract', () => {
    const vfs = (): Vfs => {
      const v = ctx.target().vfs();
      if (v === null) throw new Error('raw Vfs cases need a direct target');
      return v;
    };
    const setup = async (label: string) => {
      const dir = await ctx.scratch(label);
      const dirIno = (await vfs().lookup(ROOT_INO, dir.slice(1))).ino;
      const { attr, fh } = await vfs().create(dirIno, 'f', 0o644, { flags: constants.O_WRONLY }, ROOT);
      await vfs().release(fh);
      const sub = await vfs().mkdir(dirIno, 'd', 0o755, ROOT);
      return { dir, dirIno, file: attr, sub };
    };

    it('lookup below a file is ENOTDIR; readdir of a file is ENOTDIR; open of a directory for writing is EISDIR', async () => {
      const { file, sub } = await setup('raw-types');
      await expectCode(vfs().lookup(file.ino, 'x'), 'ENOTDIR');
      await expectCode(vfs().readdir(file.ino), 'ENOTDIR');
      await expectCode(vfs().open(sub.ino, { flags: constants.O_WRONLY }, ROOT), 'EISDIR');
    });

    it('create of an existing name is EEXIST; names over 255 bytes are ENAMETOOLONG', async () => {
      const { dirIno } = await setup('raw-names');
      await expectCode(vfs().create(dirIno, 'f', 0o644, { flags: constants.O_WRONLY | constants.O_EXCL }, ROOT), 'EEXIST');
      await expectCode(vfs().lookup(dirIno, 'x'.repeat(256)), 'ENAMETOOLONG');
      await expectCode(vfs().mkdir(dirIno, 'x'.repeat(256), 0o755, ROOT), 'ENAMETOOLONG');
    });

    it('mknod makes regular files only; link of a directory is EPERM', async () => {
      const { dirIno, sub } = await setup('raw-mknod');
      const made = await vfs().mknod(dirIno, 'plain', constants.S_IFREG | 0o640, ROOT);
      expect(made.type).toBe('file');
      expect(perms(made.mode)).toBe(0o640);
      await expectCode(vfs().mknod(dirIno, 'fifo', constants.S_IFIFO | 0o644, ROOT), 'EPERM');
      await expectCode(vfs().link(sub.ino, dirIno, 'dirlink'), 'EPERM');
    });

    it('rename of a directory into its own subtree is EINVAL even without the kernel check', async () => {
      const { dirIno, sub } = await setup('raw-rename');
      const child = await vfs().mkdir(sub.ino, 'child', 0o755, ROOT);
      await expectCode(vfs().rename(dirIno, 'd', child.ino, 'd'), 'EINVAL');
      expect((await vfs().readdir(dirIno)).map((e) => e.name)).toEqual(['d', 'f']);
    });

    it('owner-only rules: chmod/utimens by a non-owner and chown by non-root are EPERM', async () => {
      const { file } = await setup('raw-owner');
      await expectCode(vfs().setattr(file.ino, { mode: 0o777 }, NOBODY), 'EPERM');
      await expectCode(vfs().setattr(file.ino, { mtime: 5n }, NOBODY), 'EPERM');
      await expectCode(vfs().setattr(file.ino, { uid: 65534 }, NOBODY), 'EPERM');
      await vfs().setattr(file.ino, { uid: NOBODY.uid, gid: NOBODY.gid }, ROOT);
      await vfs().setattr(file.ino, { mode: 0o600 }, NOBODY);
      await expectCode(vfs().setattr(file.ino, { uid: 0 }, NOBODY), 'EPERM');
      const attr = await vfs().getattr(file.ino);
      expect([attr.uid, perms(attr.mode)]).toEqual([65534, 0o600]);
    });

    it('chmod and utimens that arrive while release is uploading still reach the backend metadata', async (test) => {
      const { driver } = ctx.target().backend;
      if (!driver.capabilities.metadata) test.skip('the backend keeps no object metadata');
      const { dir, dirIno } = await setup('raw-setattr-race');
      // The kernel sends RELEASE asynchronously after close(2): a chmod/utimes right after close
      // can arrive while the upload is in flight. sync() starts the upload at once (no write-back delay).
      for (const delay of [0, 5]) {
        const { attr, fh } = await vfs().create(dirIno, `r${delay}`, 0o644, { flags: constants.O_WRONLY }, ROOT);
        await vfs().write(fh, 0, Buffer.from('x'));
        await vfs().flush(fh);
        await vfs().release(fh);
        const uploading = vfs().sync();
        await new Promise((r) => setTimeout(r, delay));
        await vfs().setattr(attr.ino, { mode: 0o600, mtime: 1_400_000_000_000_000_000n }, ROOT);
        await uploading;
      }
      await ctx.target().settle();
      for (const delay of [0, 5]) {
        const meta = (await driver.stat(`${dir.slice(1)}/r${delay}`)).metadata ?? {};
        expect([meta['storaged-mode'], meta['storaged-mtime-ns']], `r${delay}`).toEqual(['100600', '1400000000000000000']);
      }
    });

    it('getxattr of a missing name is ENODATA; removexattr too', async () => {
      const { file } = await setup('raw-xattr');
      await expectCode(vfs().getxattr(file.ino, 'user.none'), 'ENODATA');
      await expectCode(vfs().removexattr(file.ino, 'user.none'), 'ENODATA');
      expect(await vfs().listxattr(file.ino)).toEqual([]);
    });
  });
}
