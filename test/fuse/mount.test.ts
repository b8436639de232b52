import { chmodSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findMount } from '../../src/fuse/mountinfo.js';
import { asNobody, canSwitchUser } from './support/as-nobody.js';
import { forceUnmount, startMountProcess, type MountProcess } from './support/mount-process.js';
import { FIFO_STATVFS_SCRIPT, hasPython, runPython, XATTR_SCRIPT } from './support/python.js';

/** Needs root (or a fuse group) and /dev/fuse: present here and in CI. */
const canMount = existsSync('/dev/fuse');

/** The errno code of a rejected promise ('OK' when it resolves). */
async function codeOf(work: Promise<unknown>): Promise<string> {
  return work.then(
    () => 'OK',
    (err: NodeJS.ErrnoException) => err.code ?? String(err),
  );
}

describe.skipIf(!canMount)('FUSE adapter over a real mount (test-double VFS in a child process)', { timeout: 60_000 }, () => {
  const temp = mkdtempSync(join(tmpdir(), 'storaged-fuse-'));
  const mnt = join(temp, 'mnt');
  let served: MountProcess;

  beforeAll(async () => {
    chmodSync(temp, 0o755); // other users must reach the mountpoint
    served = await startMountProcess(mnt);
    expect(served.outcome).toMatchObject({ type: 'mounted' });
  });

  afterAll(async () => {
    await served?.stop();
    await forceUnmount(mnt);
    rmSync(temp, { recursive: true, force: true });
  });

  it('mounts with the deliberate options, as fuse.storaged', async () => {
    const outcome = served.outcome;
    expect(outcome.type).toBe('mounted');
    if (outcome.type !== 'mounted') return;
    expect(outcome.options).toEqual(
      expect.arrayContaining(['subtype=storaged', 'default_permissions', 'allow_other', 'use_ino', 'big_writes', 'max_write=131072', 'auto_cache']),
    );
    expect(await findMount(mnt)).toMatchObject({ fstype: 'fuse.storaged', source: 'storaged:test' });
  });

  it('maps VFS errors to errno end to end', async () => {
    await fs.mkdir(join(mnt, 'full'));
    await fs.writeFile(join(mnt, 'full/file'), 'x');
    expect(await codeOf(fs.readFile(join(mnt, 'missing')))).toBe('ENOENT');
    expect(await codeOf(fs.rmdir(join(mnt, 'full')))).toBe('ENOTEMPTY');
    expect(await codeOf(fs.writeFile(join(mnt, 'n'.repeat(300)), 'x'))).toBe('ENAMETOOLONG');
    // A plain Error inside the VFS (not an FsError) answers EIO.
    expect(await codeOf(fs.stat(join(mnt, 'boom')))).toBe('EIO');
    expect(await codeOf(fs.mkdir(join(mnt, 'full')))).toBe('EEXIST');
    expect(await codeOf(fs.readdir(join(mnt, 'full/file')))).toBe('ENOTDIR');
  });

  it('passes 128 KiB write requests to the VFS (big_writes, max_write)', async () => {
    const before = (await served.stats()).writeSizes.length;
    const data = Buffer.alloc(4 * 2 ** 20, 0x5a);
    await fs.writeFile(join(mnt, 'big.bin'), data);
    const sizes = (await served.stats()).writeSizes.slice(before);
    expect(Math.max(...sizes)).toBe(131072);
    expect(sizes.filter((size) => size === 131072).length).toBeGreaterThanOrEqual(30);
    expect((await fs.readFile(join(mnt, 'big.bin'))).equals(data)).toBe(true);
  });

  it('round-trips content, modes, links, renames and listings', async () => {
    const file = join(mnt, 'rt.txt');
    await fs.writeFile(file, 'hello world');
    await fs.appendFile(file, '!');
    expect(await fs.readFile(file, 'utf8')).toBe('hello world!');
    await fs.truncate(file, 5);
    expect(await fs.readFile(file, 'utf8')).toBe('hello');
    await fs.chmod(file, 0o640);
    expect((await fs.stat(file)).mode & 0o7777).toBe(0o640);

    await fs.link(file, join(mnt, 'rt-link.txt'));
    const [a, b] = [await fs.stat(file), await fs.stat(join(mnt, 'rt-link.txt'))];
    expect(b.ino).toBe(a.ino);
    expect(b.nlink).toBe(2);

    await fs.symlink('rt.txt', join(mnt, 'rt-sym'));
    expect(await fs.readlink(join(mnt, 'rt-sym'))).toBe('rt.txt');
    expect((await fs.lstat(join(mnt, 'rt-sym'))).isSymbolicLink()).toBe(true);

    await fs.mkdir(join(mnt, 'dir1/sub'), { recursive: true });
    await fs.writeFile(join(mnt, 'dir1/sub/f'), 'in sub');
    expect(await fs.readFile(join(mnt, 'dir1/sub/f'), 'utf8')).toBe('in sub'); // caches dir1 and dir1/sub
    await fs.rename(join(mnt, 'dir1'), join(mnt, 'dir2'));
    expect(await codeOf(fs.stat(join(mnt, 'dir1/sub/f')))).toBe('ENOENT');
    expect(await fs.readFile(join(mnt, 'dir2/sub/f'), 'utf8')).toBe('in sub');
    await fs.mkdir(join(mnt, 'dir1'));
    expect(await fs.readdir(join(mnt, 'dir1'))).toEqual([]);

    const listing = await fs.readdir(mnt, { withFileTypes: true });
    const kinds = Object.fromEntries(listing.map((e) => [e.name, e.isDirectory() ? 'd' : e.isSymbolicLink() ? 'l' : 'f']));
    expect(kinds).toMatchObject({ 'rt.txt': 'f', 'rt-sym': 'l', dir2: 'd' });
  });

  it.skipIf(!canSwitchUser)('lets the kernel enforce permissions for other users (default_permissions, allow_other)', async () => {
    await fs.writeFile(join(mnt, 'owned-by-root'), 'secret');
    await fs.chmod(join(mnt, 'owned-by-root'), 0o640);
    await fs.mkdir(join(mnt, 'shared'));
    await fs.chmod(join(mnt, 'shared'), 0o777);
    const script = [
      `cat '${mnt}/owned-by-root' 2>/dev/null; echo "read=$?"`,
      `(echo x > '${mnt}/owned-by-root') 2>/dev/null; echo "write=$?"`,
      `chmod 666 '${mnt}/owned-by-root' 2>/dev/null; echo "chmod=$?"`,
      `echo mine > '${mnt}/shared/mine'; echo "create=$?"`,
    ].join('; ');
    const output = await asNobody(script);
    expect(output).toContain('read=1');
    expect(output).toContain('write=2'); // the shell's "cannot create" status
    expect(output).toContain('chmod=1');
    expect(output).toContain('create=0');
    expect(await fs.readFile(join(mnt, 'shared/mine'), 'utf8')).toBe('mine\n');
  });

  it.skipIf(!hasPython)('handles xattrs: size queries, ERANGE, create/replace flags, ENODATA', async () => {
    const file = join(mnt, 'xattr.txt');
    await fs.writeFile(file, 'x');
    const names = Array.from({ length: 40 }, (_, i) => `user.name${String(i).padStart(3, '0')}`);
    const result = await runPython<Record<string, unknown>>(XATTR_SCRIPT, [file]);
    expect(result).toEqual({
      small: 'v1',
      bigMatches: true,
      list: ['user.big', ...names, 'user.small'].sort(),
      sizeQuery: 512,
      listSizeQuery: ['user.big', 'user.small', ...names].reduce((sum, n) => sum + n.length + 1, 0),
      smallBuffer: 'ERANGE',
      smallListBuffer: 'ERANGE',
      createExisting: 'EEXIST',
      replaceMissing: 'ENODATA',
      getRemoved: 'ENODATA',
      removeMissing: 'ENODATA',
    });
  });

  it.skipIf(!hasPython)('refuses special files (EPERM) and reports statfs scaled to 32-bit fields', async () => {
    const result = await runPython<Record<string, number | string>>(FIFO_STATVFS_SCRIPT, [join(mnt, 'fifo'), mnt]);
    expect(result.mkfifo).toBe('EPERM');
    // The test double reports 2^40 blocks of 4 KiB (4 PiB): scaled so the count fits 32 bits, same total.
    expect(Number(result.frsize) * Number(result.blocks)).toBe(2 ** 52);
    expect(result.bsize).toBe(result.frsize);
    expect(Number(result.blocks)).toBeLessThanOrEqual(0xffffffff);
    expect(result.namemax).toBe(255);
  });
});
