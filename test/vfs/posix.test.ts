import { constants } from 'node:fs';
import * as fsp from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, expectCode } from './suite/context.js';
import { mountedTarget } from './support/mounted-target.js';
import { startRenameReaders } from './support/rename-readers.js';
import { commandAs, runAs, type FsCallResult } from './support/run-as.js';
import type { Target } from './support/target.js';

/**
 * POSIX behaviour through a real mount, as pjdfstest checks it: permissions
 * (the kernel's default_permissions plus the VFS's owner-only rules, checked
 * from a child process running as nobody), time updates, atomic rename, and
 * the errno of each misuse. The mount is a `storaged mount` child process.
 */
const NOBODY = { uid: 65534, gid: 65534 };
const SECOND = 1_000_000_000n;
const OLD = 1_000_000_000n * SECOND;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const stat = (p: string) => fsp.stat(p, { bigint: true });
/** The calls' outcomes as one line: 'ok' or the errno name each. */
const outcomes = (results: FsCallResult[]) => results.map((r) => (r.ok ? 'ok' : r.code)).join(' ');
const setOld = (p: string) => fsp.utimes(p, Number(OLD / SECOND), Number(OLD / SECOND));

let target: Target | undefined;
let counter = 0;
/** A fresh folder on the mount, mode 0755 owned by root unless changed. */
async function scratch(label: string): Promise<string> {
  const dir = join(target!.mountpoint!, `p${++counter}-${label}`);
  await fsp.mkdir(dir);
  return dir;
}

beforeAll(async () => {
  target = await mountedTarget('local');
}, 120_000);

afterAll(async () => {
  await target?.close();
}, 120_000);

describe('permissions (as uid 65534)', () => {
  it('mode bits are honoured: 0600 root file unreadable, 0644 readable but not writable', async () => {
    const dir = await scratch('perm-read');
    await fsp.writeFile(join(dir, 'secret'), 'secret', { mode: 0o600 });
    await fsp.writeFile(join(dir, 'public'), 'public', { mode: 0o644 });
    const [secret, pub, write] = await runAs(NOBODY, [
      { op: 'readFile', args: [join(dir, 'secret')] },
      { op: 'readFile', args: [join(dir, 'public')] },
      { op: 'writeFile', args: [join(dir, 'public'), 'mine now'] },
    ]);
    expect(secret).toEqual({ ok: false, code: 'EACCES' });
    expect(pub).toEqual({ ok: true, value: 'public' });
    expect(write).toEqual({ ok: false, code: 'EACCES' });
    expect(await fsp.readFile(join(dir, 'public'), 'utf8')).toBe('public');
  });

  it('directory permissions: no create in a 0755 root dir, no search in 0700; a 0777 dir gives files owned by the caller', async () => {
    const dir = await scratch('perm-dir');
    await fsp.mkdir(join(dir, 'closed'), { mode: 0o700 });
    await fsp.writeFile(join(dir, 'closed', 'inner'), 'x');
    await fsp.mkdir(join(dir, 'open'));
    await fsp.chmod(join(dir, 'open'), 0o777);
    const results = await runAs(NOBODY, [
      { op: 'writeFile', args: [join(dir, 'new'), 'x'] },
      { op: 'stat', args: [join(dir, 'closed', 'inner')] },
      { op: 'readdir', args: [join(dir, 'closed')] },
      { op: 'writeFile', args: [join(dir, 'open', 'mine'), 'by nobody'] },
      { op: 'mkdir', args: [join(dir, 'open', 'mydir')] },
    ]);
    expect(outcomes(results)).toBe('EACCES EACCES EACCES ok ok');
    for (const name of ['mine', 'mydir']) {
      const st = await stat(join(dir, 'open', name));
      expect([Number(st.uid), Number(st.gid)], name).toEqual([65534, 65534]);
    }
  });

  it('chmod, chown and explicit utimes by a non-owner are EPERM; the owner may chmod', async () => {
    const dir = await scratch('perm-owner');
    await fsp.chmod(dir, 0o777);
    await fsp.writeFile(join(dir, 'roots'), 'x', { mode: 0o666 });
    await fsp.chmod(join(dir, 'roots'), 0o666);
    const results = await runAs(NOBODY, [
      { op: 'chmod', args: [join(dir, 'roots'), 0o777] },
      { op: 'chown', args: [join(dir, 'roots'), 65534, 65534] },
      { op: 'utimes', args: [join(dir, 'roots'), 1000, 1000] },
      { op: 'writeFile', args: [join(dir, 'own'), 'x'] },
      { op: 'chmod', args: [join(dir, 'own'), 0o600] },
      { op: 'chown', args: [join(dir, 'own'), 0, 0] },
    ]);
    expect(outcomes(results)).toBe('EPERM EPERM EPERM ok ok EPERM');
    expect((await stat(join(dir, 'roots'))).mode & 0o7777n).toBe(0o666n);
    expect((await stat(join(dir, 'own'))).mode & 0o7777n).toBe(0o600n);
  });

  it('touch (utimes to now) by a non-owner with write permission is allowed', async () => {
    const dir = await scratch('perm-touch');
    await fsp.writeFile(join(dir, 'shared'), 'x');
    await fsp.chmod(join(dir, 'shared'), 0o666);
    await setOld(join(dir, 'shared'));
    const run = await commandAs(NOBODY, 'touch', [join(dir, 'shared')]);
    expect(run, run.stderr).toMatchObject({ code: 0 });
    expect((await stat(join(dir, 'shared'))).mtimeNs).toBeGreaterThan(OLD);
  });

  it('sticky directory: nobody cannot remove root’s file, can remove its own', async () => {
    const dir = await scratch('perm-sticky');
    await fsp.chmod(dir, 0o1777);
    await fsp.writeFile(join(dir, 'roots'), 'x', { mode: 0o666 });
    const results = await runAs(NOBODY, [
      { op: 'unlink', args: [join(dir, 'roots')] },
      { op: 'rename', args: [join(dir, 'roots'), join(dir, 'stolen')] },
      { op: 'writeFile', args: [join(dir, 'own'), 'x'] },
      { op: 'unlink', args: [join(dir, 'own')] },
    ]);
    expect(outcomes(results)).toBe('EPERM EPERM ok ok');
    expect(await fsp.readdir(dir)).toEqual(['roots']);
  });
});

describe('times', () => {
  it('create sets all three times to now and updates the parent’s mtime and ctime', async () => {
    const dir = await scratch('time-create');
    await setOld(dir);
    const parentBefore = await stat(dir);
    await sleep(20);
    const now = BigInt(Date.now()) * 1_000_000n;
    await fsp.writeFile(join(dir, 'f'), '');
    const f = await stat(join(dir, 'f'));
    for (const t of [f.atimeNs, f.mtimeNs, f.ctimeNs]) expect(t).toBeGreaterThanOrEqual(now - 2n * SECOND);
    const parent = await stat(dir);
    expect(parent.mtimeNs).toBeGreaterThan(OLD);
    expect(parent.ctimeNs).toBeGreaterThan(parentBefore.ctimeNs);
  });

  it('write updates mtime and ctime but not atime; chmod updates ctime only', async () => {
    const dir = await scratch('time-write');
    const f = join(dir, 'f');
    await fsp.writeFile(f, 'x');
    await setOld(f);
    const before = await stat(f);
    await sleep(20);
    await fsp.appendFile(f, 'more');
    const after = await stat(f);
    expect(after.mtimeNs).toBeGreaterThan(OLD);
    expect(after.ctimeNs).toBeGreaterThan(before.ctimeNs);
    expect(after.atimeNs).toBe(OLD);
    await sleep(20);
    await fsp.chmod(f, 0o600);
    const chmodded = await stat(f);
    expect(chmodded.ctimeNs).toBeGreaterThan(after.ctimeNs);
    expect(chmodded.mtimeNs).toBe(after.mtimeNs);
  });

  it('rename updates both parents’ mtime and ctime, and the moved file’s ctime', async () => {
    const dir = await scratch('time-rename');
    await fsp.mkdir(join(dir, 'from'));
    await fsp.mkdir(join(dir, 'to'));
    await fsp.writeFile(join(dir, 'from', 'f'), 'x');
    await setOld(join(dir, 'from'));
    await setOld(join(dir, 'to'));
    const fileBefore = await stat(join(dir, 'from', 'f'));
    const fromBefore = await stat(join(dir, 'from'));
    await sleep(20);
    await fsp.rename(join(dir, 'from', 'f'), join(dir, 'to', 'g'));
    const [from, to, file] = await Promise.all([stat(join(dir, 'from')), stat(join(dir, 'to')), stat(join(dir, 'to', 'g'))]);
    expect(from.mtimeNs).toBeGreaterThan(OLD);
    expect(to.mtimeNs).toBeGreaterThan(OLD);
    expect(from.ctimeNs).toBeGreaterThan(fromBefore.ctimeNs);
    expect(file.ctimeNs).toBeGreaterThan(fileBefore.ctimeNs);
    expect(file.mtimeNs).toBe(fileBefore.mtimeNs);
  });

  it('link and unlink update the file’s ctime and the parent’s mtime', async () => {
    const dir = await scratch('time-link');
    await fsp.writeFile(join(dir, 'f'), 'x');
    await setOld(dir);
    const before = await stat(join(dir, 'f'));
    await sleep(20);
    await fsp.link(join(dir, 'f'), join(dir, 'g'));
    const linked = await stat(join(dir, 'g'));
    expect(linked.ctimeNs).toBeGreaterThan(before.ctimeNs);
    expect((await stat(dir)).mtimeNs).toBeGreaterThan(OLD);
    await setOld(dir);
    await sleep(20);
    await fsp.unlink(join(dir, 'f'));
    // The other name's attributes may be cached by the kernel for attr_timeout (1 s in these tests):
    // high-level libfuse gives each name its own kernel inode, so unlinking 'f' does not invalidate 'g'.
    await sleep(1100);
    const remaining = await stat(join(dir, 'g'));
    expect(remaining.nlink).toBe(1n);
    expect(remaining.ctimeNs).toBeGreaterThan(linked.ctimeNs);
    expect((await stat(dir)).mtimeNs).toBeGreaterThan(OLD);
  });
});

describe('rename is atomic within the mount', () => {
  it('readers never see the target missing or partial while it is renamed over 150 times', { timeout: 120_000 }, async () => {
    const dir = await scratch('atomic');
    const body = (v: number) => `v${v}:${'x'.repeat(8000)}:end`;
    const target = join(dir, 'target');
    await fsp.writeFile(target, body(0));
    const readers = await startRenameReaders(target, '^v(\\d+):x{8000}:end$');
    for (let v = 1; v <= 150; v++) {
      await fsp.writeFile(join(dir, `tmp${v}`), body(v));
      await fsp.rename(join(dir, `tmp${v}`), target);
    }
    const report = await readers.stop();
    expect(await fsp.readFile(target, 'utf8')).toBe(body(150));
    // Nothing left behind once the readers closed (no .fuse_hidden* files).
    await eventually(async () => expect(await fsp.readdir(dir)).toEqual(['target']));
    expect(report.reads).toBeGreaterThan(0);
    expect(report, JSON.stringify(report)).toMatchObject({ missing: 0, torn: 0, errors: {} });
  });
});

describe('errno where it belongs', () => {
  it('ENOTEMPTY: rmdir and rename onto a non-empty directory', async () => {
    const dir = await scratch('enotempty');
    await fsp.mkdir(join(dir, 'full'));
    await fsp.writeFile(join(dir, 'full', 'f'), 'x');
    await fsp.mkdir(join(dir, 'src'));
    await expectCode(fsp.rmdir(join(dir, 'full')), 'ENOTEMPTY');
    await expectCode(fsp.rename(join(dir, 'src'), join(dir, 'full')), 'ENOTEMPTY');
    await expectCode(fsp.rename(join(dir, 'full', 'f'), join(dir, 'full')), 'ENOTEMPTY');
  });

  it('EEXIST: mkdir, symlink, link onto existing names; O_EXCL on a file, a directory and a dangling symlink', async () => {
    const dir = await scratch('eexist');
    await fsp.writeFile(join(dir, 'f'), 'x');
    await fsp.mkdir(join(dir, 'd'));
    await fsp.symlink('nowhere', join(dir, 'dangling'));
    for (const name of ['f', 'd', 'dangling']) {
      await expectCode(fsp.mkdir(join(dir, name)), 'EEXIST');
      await expectCode(fsp.symlink('x', join(dir, name)), 'EEXIST');
      await expectCode(fsp.link(join(dir, 'f'), join(dir, name)), 'EEXIST');
      await expectCode(fsp.open(join(dir, name), constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY), 'EEXIST');
    }
    await expectCode(fsp.stat(join(dir, 'nowhere')), 'ENOENT');
  });

  it('EISDIR: open a directory for writing, truncate it, rename a file over it, unlink it', async () => {
    const dir = await scratch('eisdir');
    await fsp.mkdir(join(dir, 'd'));
    await fsp.writeFile(join(dir, 'f'), 'x');
    await expectCode(fsp.open(join(dir, 'd'), 'w'), 'EISDIR');
    await expectCode(fsp.open(join(dir, 'd'), 'r+'), 'EISDIR');
    await expectCode(fsp.truncate(join(dir, 'd'), 0), 'EISDIR');
    await expectCode(fsp.rename(join(dir, 'f'), join(dir, 'd')), 'EISDIR');
    await expectCode(fsp.unlink(join(dir, 'd')), 'EISDIR');
  });

  it('ENAMETOOLONG: 256-byte names in create, mkdir, rename, symlink, link, stat; a symlink target over PATH_MAX', async () => {
    const dir = await scratch('enametoolong');
    const long = join(dir, 'x'.repeat(256));
    await fsp.writeFile(join(dir, 'f'), 'x');
    await expectCode(fsp.writeFile(long, 'x'), 'ENAMETOOLONG');
    await expectCode(fsp.mkdir(long), 'ENAMETOOLONG');
    await expectCode(fsp.rename(join(dir, 'f'), long), 'ENAMETOOLONG');
    await expectCode(fsp.symlink('f', long), 'ENAMETOOLONG');
    await expectCode(fsp.link(join(dir, 'f'), long), 'ENAMETOOLONG');
    await expectCode(fsp.stat(long), 'ENAMETOOLONG');
    await expectCode(fsp.symlink('t'.repeat(4096), join(dir, 'l')), 'ENAMETOOLONG');
    await fsp.writeFile(join(dir, 'x'.repeat(255)), 'fits');
    expect(await fsp.readdir(dir)).toEqual(['f', 'x'.repeat(255)]);
  });

  it('ENOTDIR, EINVAL and ELOOP', async () => {
    const dir = await scratch('misc');
    await fsp.writeFile(join(dir, 'f'), 'x');
    await fsp.mkdir(join(dir, 'd/sub'), { recursive: true });
    await expectCode(fsp.mkdir(join(dir, 'f', 'x')), 'ENOTDIR');
    await expectCode(fsp.rmdir(join(dir, 'f')), 'ENOTDIR');
    await expectCode(fsp.rename(join(dir, 'd'), join(dir, 'f')), 'ENOTDIR');
    await expectCode(fsp.rename(join(dir, 'd'), join(dir, 'd', 'sub', 'd')), 'EINVAL');
    await fsp.symlink('b', join(dir, 'a'));
    await fsp.symlink('a', join(dir, 'b'));
    await expectCode(fsp.stat(join(dir, 'a')), 'ELOOP');
  });
});
