import { execFile } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertPatchedBuild } from '../../src/fuse/native.js';
import { asNobody, canSwitchUser, NOBODY } from './support/as-nobody.js';
import { forceUnmount, startMountProcess, type MountProcess } from './support/mount-process.js';

/**
 * What native/fuse-native.patch gives the adapter, end to end through a real
 * mount of the test-double VFS: the caller of every request, utimens times
 * as they were asked for, ESTALE (not ENOENT) for requests that raced a
 * rename; and how the adapter serves files unlinked or renamed over while
 * open (libfuse's hidden names, hidden.ts).
 */
const canMount = existsSync('/dev/fuse');

/** Runs a command; rejects with its stderr when it fails. */
function run(command: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { timeout: 20_000 }, (err, _stdout, stderr) => (err ? reject(new Error(stderr || err.message)) : resolve()));
  });
}

const ns = (date: Date) => String(BigInt(date.getTime()) * 1_000_000n);

it('the loaded fuse-native is the patched build', () => {
  expect(() => assertPatchedBuild()).not.toThrow();
});

describe.skipIf(!canMount)('patched fuse-native over a real mount (test-double VFS in a child process)', { timeout: 60_000 }, () => {
  const temp = mkdtempSync(join(tmpdir(), 'storaged-fuse-patched-'));
  const mnt = join(temp, 'mnt');
  let served: MountProcess;
  const lastSetattr = async () => (await served.stats()).setattrs.at(-1);

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

  it('utimens: explicit times to the nanosecond, one time alone, and now', async () => {
    const file = join(mnt, 'times.txt');
    await fs.writeFile(file, 't');
    const atime = new Date('2020-01-02T03:04:05.250Z');
    const mtime = new Date('2021-06-07T08:09:10.500Z');
    await fs.utimes(file, atime, mtime);
    const st = await fs.stat(file);
    expect([st.atime.toISOString(), st.mtime.toISOString()]).toEqual([atime.toISOString(), mtime.toISOString()]);
    expect(await lastSetattr()).toEqual({ atime: ns(atime), mtime: ns(mtime), by: 0 });

    // The nanoseconds reach the VFS (stat shows milliseconds: fuse-native's stat encoding).
    await run('touch', ['-m', '-d', '@1600000000.123456789', file]);
    expect(await lastSetattr()).toEqual({ mtime: '1600000000123456789', by: 0 });
    expect((await fs.stat(file)).atime.toISOString()).toBe(atime.toISOString());

    await run('touch', ['-a', file]);
    expect(await lastSetattr()).toEqual({ atime: 'now', by: 0 });
    await run('touch', [file]);
    expect(await lastSetattr()).toEqual({ atime: 'now', mtime: 'now', by: 0 });
  });

  it.skipIf(!canSwitchUser)('attributes every request to its caller: new nodes belong to it, setattr names it', async () => {
    await fs.mkdir(join(mnt, 'open'));
    await fs.chmod(join(mnt, 'open'), 0o777);
    await fs.writeFile(join(mnt, 'open/roots'), 'x');
    await fs.chmod(join(mnt, 'open/roots'), 0o666);
    const script = [
      `echo mine > '${mnt}/open/file'`,
      `mkdir '${mnt}/open/dir'`,
      `ln -s file '${mnt}/open/link'`,
      `touch '${mnt}/open/roots'`,
      'echo done',
    ].join(' && ');
    expect(await asNobody(script)).toBe('done\n');
    for (const name of ['file', 'dir', 'link']) {
      const st = await fs.lstat(join(mnt, 'open', name));
      expect([st.uid, st.gid], name).toEqual([NOBODY.uid, NOBODY.gid]);
    }
    // touch by a non-owner with write permission: 'now', so the VFS can allow it.
    expect(await lastSetattr()).toEqual({ atime: 'now', mtime: 'now', by: NOBODY.uid });
    expect((await fs.stat(join(mnt, 'open/roots'))).uid).toBe(0);
  });

  it('a handle keeps working after its file is unlinked: read, write, ftruncate, fstat, no .fuse_hidden files', async () => {
    await fs.mkdir(join(mnt, 'unlinked'));
    const file = join(mnt, 'unlinked/f');
    await fs.writeFile(file, 'hello');
    const handle = await fs.open(file, 'r+');
    try {
      await fs.unlink(file);
      expect(await fs.readdir(join(mnt, 'unlinked'))).toEqual([]);
      await expect(fs.stat(file)).rejects.toMatchObject({ code: 'ENOENT' });
      await handle.write(Buffer.from(' world'), 0, 6, 5);
      await handle.truncate(8);
      const back = Buffer.alloc(20);
      const { bytesRead } = await handle.read(back, 0, 20, 0);
      expect(back.subarray(0, bytesRead).toString()).toBe('hello wo');
      expect(await handle.stat()).toMatchObject({ size: 8, nlink: 0 });
      await handle.sync();
    } finally {
      await handle.close();
    }
    expect(await fs.readdir(join(mnt, 'unlinked'))).toEqual([]);
  });

  it('rename over a file that is open replaces it at once; the open handle still reads the old content', async () => {
    await fs.mkdir(join(mnt, 'renamed'));
    const target = join(mnt, 'renamed/target');
    await fs.writeFile(target, 'old');
    await fs.writeFile(join(mnt, 'renamed/tmp'), 'new');
    const handle = await fs.open(target, 'r');
    try {
      await fs.rename(join(mnt, 'renamed/tmp'), target);
      expect(await fs.readdir(join(mnt, 'renamed'))).toEqual(['target']);
      expect(await fs.readFile(target, 'utf8')).toBe('new');
      expect((await handle.readFile()).toString()).toBe('old');
    } finally {
      await handle.close();
    }
    expect(await fs.readdir(join(mnt, 'renamed'))).toEqual(['target']);
  });

  it('renames over a file under concurrent readers: every open, stat and read finds one whole version', async () => {
    await fs.mkdir(join(mnt, 'atomic'));
    const target = join(mnt, 'atomic/target');
    const body = (v: number) => `v${v}:${'x'.repeat(4000)}:end`;
    await fs.writeFile(target, body(0));
    let stop = false;
    const failures: string[] = [];
    let reads = 0;
    const reader = async (useStat: boolean) => {
      while (!stop) {
        try {
          if (useStat) await fs.stat(target);
          else if (/^v\d+:x{4000}:end$/.test(await fs.readFile(target, 'utf8'))) reads++;
          else failures.push('torn');
        } catch (err) {
          failures.push((err as NodeJS.ErrnoException).code ?? String(err));
        }
      }
    };
    const readers = [reader(false), reader(true), reader(false)];
    for (let v = 1; v <= 100; v++) {
      await fs.writeFile(join(mnt, `atomic/tmp${v}`), body(v));
      await fs.rename(join(mnt, `atomic/tmp${v}`), target);
    }
    stop = true;
    await Promise.all(readers);
    expect(failures).toEqual([]);
    expect(reads).toBeGreaterThan(0);
    expect(await fs.readdir(join(mnt, 'atomic'))).toEqual(['target']);
  });
});
