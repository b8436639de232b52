import { constants } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MemoryDriver } from '../../../src/drivers/memory/index.js';
import { ROOT_INO } from '../../../src/daemon/vfs/types.js';
import { codeOf, eventually, names, openHarness, RDWR, readFile, readObject, resolve, ROOT, writeFile, type Harness } from './support.js';

describe('vfs namespace (memory backend)', () => {
  let backend: MemoryDriver;
  let h: Harness;
  beforeEach(async () => {
    backend = new MemoryDriver();
    h = await openHarness(backend);
  });
  afterEach(async () => {
    await h.close();
  });

  const keys = async (dir = '') => (await backend.list(dir, { recursive: true })).entries.map((e) => `${e.path}${e.type === 'directory' ? '/' : ''}`).sort();

  it('mkdir creates the backend directory; EEXIST for a taken name; rmdir refuses a non-empty one', async () => {
    const dir = await h.vfs.mkdir(ROOT_INO, 'docs', 0o750, ROOT);
    expect(dir.mode).toBe(constants.S_IFDIR | 0o750);
    expect(dir.nlink).toBe(2);
    await h.vfs.sync(); // namespace operations run in the background at once (writeback.test.ts shows it)
    expect((await backend.stat('docs')).type).toBe('directory');
    expect(await codeOf(h.vfs.mkdir(ROOT_INO, 'docs', 0o755, ROOT))).toBe('EEXIST');
    await writeFile(h.vfs, dir.ino, 'a.txt', 'a');
    expect(await codeOf(h.vfs.create(ROOT_INO, 'docs', 0o644, RDWR, ROOT))).toBe('EEXIST');
    expect(await codeOf(h.vfs.symlink(ROOT_INO, 'docs', 'x', ROOT))).toBe('EEXIST');
    expect(await codeOf(h.vfs.rmdir(ROOT_INO, 'docs'))).toBe('ENOTEMPTY');
    await h.vfs.unlink(dir.ino, 'a.txt');
    await h.vfs.rmdir(ROOT_INO, 'docs');
    await h.vfs.sync();
    await expect(backend.stat('docs')).rejects.toMatchObject({ code: 'ENOENT' });
    expect(await names(h.vfs, ROOT_INO)).toEqual([]);
  });

  it('rmdir of a directory the index never listed sees the backend children (ENOTEMPTY)', async () => {
    await backend.write('remote/inside.txt', Buffer.from('x'));
    expect(await codeOf(h.vfs.rmdir(ROOT_INO, 'remote'))).toBe('ENOTEMPTY');
    expect((await readObject(backend, 'remote/inside.txt')).toString()).toBe('x');
  });

  it('EISDIR, ENOTDIR, ENOENT and ENAMETOOLONG where they belong', async () => {
    const file = await writeFile(h.vfs, ROOT_INO, 'file', 'x');
    await h.vfs.mkdir(ROOT_INO, 'dir', 0o755, ROOT);
    expect(await codeOf(h.vfs.unlink(ROOT_INO, 'dir'))).toBe('EISDIR');
    expect(await codeOf(h.vfs.rmdir(ROOT_INO, 'file'))).toBe('ENOTDIR');
    expect(await codeOf(h.vfs.readdir(file.ino))).toBe('ENOTDIR');
    expect(await codeOf(h.vfs.lookup(file.ino, 'x'))).toBe('ENOTDIR');
    expect(await codeOf(h.vfs.mkdir(file.ino, 'x', 0o755, ROOT))).toBe('ENOTDIR');
    expect(await codeOf(h.vfs.lookup(ROOT_INO, 'missing'))).toBe('ENOENT');
    expect(await codeOf(h.vfs.unlink(ROOT_INO, 'missing'))).toBe('ENOENT');
    expect(await codeOf(h.vfs.rename(ROOT_INO, 'missing', ROOT_INO, 'x'))).toBe('ENOENT');
    const long = 'n'.repeat(256);
    expect(await codeOf(h.vfs.create(ROOT_INO, long, 0o644, RDWR, ROOT))).toBe('ENAMETOOLONG');
    expect(await codeOf(h.vfs.mkdir(ROOT_INO, long, 0o755, ROOT))).toBe('ENAMETOOLONG');
    expect(await codeOf(h.vfs.lookup(ROOT_INO, long))).toBe('ENAMETOOLONG');
    expect(await codeOf(h.vfs.rename(ROOT_INO, 'file', ROOT_INO, long))).toBe('ENAMETOOLONG');
    expect(await codeOf(h.vfs.symlink(ROOT_INO, 'deep', 'x'.repeat(4097), ROOT))).toBe('ENAMETOOLONG');
    const max = 'é'.repeat(127) + 'n'; // 255 bytes
    await writeFile(h.vfs, ROOT_INO, max, 'ok');
    await h.vfs.sync();
    expect((await readObject(backend, max)).toString()).toBe('ok');
  });

  it('symlink: an object holding the target with storaged-type symlink; readlink; lstat size', async () => {
    const link = await h.vfs.symlink(ROOT_INO, 'ln', '../some/where', ROOT);
    expect(link.type).toBe('symlink');
    expect(link.mode).toBe(constants.S_IFLNK | 0o777);
    expect(link.size).toBe('../some/where'.length);
    expect(await h.vfs.readlink(link.ino)).toBe('../some/where');
    await h.vfs.sync();
    expect((await readObject(backend, 'ln')).toString()).toBe('../some/where');
    expect((await backend.stat('ln')).metadata?.['storaged-type']).toBe('symlink');
    const file = await writeFile(h.vfs, ROOT_INO, 'plain', 'x');
    expect(await codeOf(h.vfs.readlink(file.ino))).toBe('EINVAL');
    expect(await codeOf(h.vfs.symlink(ROOT_INO, 'empty', '', ROOT))).toBe('ENOENT');
  });

  it('hard link: one inode, nlink 2, one object per name; unlinking a name keeps the other', async () => {
    const file = await writeFile(h.vfs, ROOT_INO, 'one', 'shared');
    const dir = await h.vfs.mkdir(ROOT_INO, 'sub', 0o755, ROOT);
    const linked = await h.vfs.link(file.ino, dir.ino, 'two');
    expect(linked.ino).toBe(file.ino);
    expect(linked.nlink).toBe(2);
    expect(linked.ctimeNs).toBeGreaterThan(file.ctimeNs);
    await h.vfs.sync();
    expect((await readObject(backend, 'sub/two')).toString()).toBe('shared');
    // A write through one name reaches both objects.
    const fh = await h.vfs.open(file.ino, RDWR, ROOT);
    await h.vfs.write(fh, 0, Buffer.from('SHARED'));
    await h.vfs.release(fh);
    await h.vfs.sync();
    expect((await readObject(backend, 'one')).toString()).toBe('SHARED');
    expect((await readObject(backend, 'sub/two')).toString()).toBe('SHARED');
    await h.vfs.unlink(ROOT_INO, 'one');
    await h.vfs.sync();
    await expect(backend.stat('one')).rejects.toMatchObject({ code: 'ENOENT' });
    const left = await h.vfs.lookup(dir.ino, 'two');
    expect(left.nlink).toBe(1);
    expect((await readFile(h.vfs, left.ino)).toString()).toBe('SHARED');
    expect(await codeOf(h.vfs.link(dir.ino, ROOT_INO, 'dirlink'))).toBe('EPERM');
    expect(await codeOf(h.vfs.link(left.ino, dir.ino, 'two'))).toBe('EEXIST');
  });

  it('rename of a file within and across directories, replacing a target', async () => {
    await writeFile(h.vfs, ROOT_INO, 'a', 'content of a');
    await writeFile(h.vfs, ROOT_INO, 'b', 'content of b');
    const dir = await h.vfs.mkdir(ROOT_INO, 'd', 0o755, ROOT);
    await h.vfs.rename(ROOT_INO, 'a', ROOT_INO, 'b');
    expect(await names(h.vfs, ROOT_INO)).toEqual(['b', 'd']);
    await h.vfs.sync();
    expect((await readObject(backend, 'b')).toString()).toBe('content of a');
    await h.vfs.rename(ROOT_INO, 'b', dir.ino, 'c');
    await h.vfs.sync();
    expect(await keys()).toEqual(['d/', 'd/c']);
    expect((await readFile(h.vfs, (await resolve(h.vfs, 'd/c')).ino)).toString()).toBe('content of a');
    // Onto another name of the same inode: nothing happens.
    await h.vfs.link((await resolve(h.vfs, 'd/c')).ino, dir.ino, 'c2');
    await h.vfs.rename(dir.ino, 'c', dir.ino, 'c2');
    expect(await names(h.vfs, dir.ino)).toEqual(['c', 'c2']);
  });

  it('rename of a directory moves every key below it, including ones the index never listed', async () => {
    const src = await h.vfs.mkdir(ROOT_INO, 'src', 0o755, ROOT);
    const sub = await h.vfs.mkdir(src.ino, 'sub', 0o755, ROOT);
    await writeFile(h.vfs, src.ino, 'top.txt', 'top');
    await writeFile(h.vfs, sub.ino, 'deep.txt', 'deep');
    await h.vfs.mkdir(sub.ino, 'empty', 0o755, ROOT);
    await backend.write('src/unlisted/other.txt', Buffer.from('by another tool'));
    await h.vfs.rename(ROOT_INO, 'src', ROOT_INO, 'dst');
    await h.vfs.sync();
    expect(await keys()).toEqual([
      'dst/', 'dst/sub/', 'dst/sub/deep.txt', 'dst/sub/empty/', 'dst/top.txt', 'dst/unlisted/', 'dst/unlisted/other.txt',
    ]);
    expect((await readFile(h.vfs, (await resolve(h.vfs, 'dst/sub/deep.txt')).ino)).toString()).toBe('deep');
    expect((await readFile(h.vfs, (await resolve(h.vfs, 'dst/unlisted/other.txt')).ino)).toString()).toBe('by another tool');
    expect((await resolve(h.vfs, 'dst/sub')).ino).toBe(sub.ino);
  });

  it('rename of a directory over an empty one replaces it; over a non-empty one ENOTEMPTY; type and loop errors', async () => {
    const a = await h.vfs.mkdir(ROOT_INO, 'a', 0o755, ROOT);
    await writeFile(h.vfs, a.ino, 'f', 'f');
    await h.vfs.mkdir(ROOT_INO, 'empty', 0o755, ROOT);
    const full = await h.vfs.mkdir(ROOT_INO, 'full', 0o755, ROOT);
    await writeFile(h.vfs, full.ino, 'g', 'g');
    await writeFile(h.vfs, ROOT_INO, 'file', 'x');
    expect(await codeOf(h.vfs.rename(ROOT_INO, 'a', ROOT_INO, 'full'))).toBe('ENOTEMPTY');
    expect(await codeOf(h.vfs.rename(ROOT_INO, 'a', ROOT_INO, 'file'))).toBe('ENOTDIR');
    expect(await codeOf(h.vfs.rename(ROOT_INO, 'file', ROOT_INO, 'a'))).toBe('EISDIR');
    expect(await codeOf(h.vfs.rename(ROOT_INO, 'a', a.ino, 'inside'))).toBe('EINVAL');
    await h.vfs.rename(ROOT_INO, 'a', ROOT_INO, 'empty');
    expect(await names(h.vfs, ROOT_INO)).toEqual(['empty', 'file', 'full']);
    await h.vfs.sync();
    expect(await keys()).toEqual(['empty/', 'empty/f', 'file', 'full/', 'full/g']);
  });

  it('a file renamed while being written lands at its new name on release', async () => {
    const dir = await h.vfs.mkdir(ROOT_INO, 'd', 0o755, ROOT);
    const { fh } = await h.vfs.create(dir.ino, 'draft', 0o644, RDWR, ROOT);
    await h.vfs.write(fh, 0, Buffer.from('v1'));
    await h.vfs.rename(dir.ino, 'draft', dir.ino, 'final');
    await h.vfs.rename(ROOT_INO, 'd', ROOT_INO, 'e');
    await h.vfs.release(fh);
    await h.vfs.sync();
    expect(await keys()).toEqual(['e/', 'e/final']);
    expect((await readObject(backend, 'e/final')).toString()).toBe('v1');
  });

  it('a failing backend mkdir succeeds locally, is retried (status shows it with its code) and reaches the backend once the fault clears', async () => {
    await h.close();
    h = await openHarness(backend, { writeBack: { maxRetryDelay: 0.05 } });
    const fault = backend.failures.inject({ op: 'createDirectory', code: 'EIO' });
    const dir = await h.vfs.mkdir(ROOT_INO, 'broken', 0o755, ROOT);
    expect(await names(h.vfs, ROOT_INO)).toEqual(['broken']);
    await writeFile(h.vfs, dir.ino, 'inside', 'kept');
    await eventually(async () => {
      expect(h.vfs.status().failing).toEqual([expect.objectContaining({ kind: 'mkdir', path: 'broken', code: 'EIO' })]);
      expect(h.vfs.status().failing[0]!.attempts).toBeGreaterThanOrEqual(2);
    });
    expect(h.vfs.status().pending.operations).toBe(2); // the mkdir and the upload below it
    await expect(backend.stat('broken')).rejects.toMatchObject({ code: 'ENOENT' });
    fault.remove();
    await h.vfs.sync();
    expect(await keys()).toEqual(['broken/', 'broken/inside']);
    expect(h.vfs.status()).toMatchObject({ failing: [], pending: { operations: 0 } });
    expect(h.vfs.status().totals.retries).toBe(fault.fired);
  });
});
