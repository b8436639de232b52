import { constants } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MemoryDriver } from '../../../src/drivers/memory/index.js';
import { ROOT_INO } from '../../../src/daemon/vfs/types.js';
import { ALICE, BOB, codeOf, openHarness, RDWR, readObject, ROOT, writeFile, type Harness } from './support.js';

const S_ISUID = 0o4000;
const S_ISGID = 0o2000;

describe('vfs attributes (memory backend)', () => {
  let backend: MemoryDriver;
  let h: Harness;
  beforeEach(async () => {
    backend = new MemoryDriver();
    h = await openHarness(backend);
    await h.vfs.setattr(ROOT_INO, { mode: 0o777 }, ROOT);
  });
  afterEach(async () => {
    await h.close();
  });

  it("readdir gives each entry the attributes getattr gives (an open file's unflushed size too) and its xattr presence", async () => {
    await writeFile(h.vfs, ROOT_INO, 'plain', 'x', ALICE);
    const tagged = await writeFile(h.vfs, ROOT_INO, 'tagged', 'xyz', ALICE);
    await h.vfs.setxattr(tagged.ino, 'user.note', Buffer.from('v'), 0);
    await h.vfs.mkdir(ROOT_INO, 'dir', 0o750, BOB);
    const { attr, fh } = await h.vfs.create(ROOT_INO, 'open', 0o600, RDWR, ALICE);
    await h.vfs.write(fh, 0, Buffer.from('written, not flushed'));
    const entries = await h.vfs.readdir(ROOT_INO);
    expect(entries.map((e) => e.name)).toEqual(['dir', 'open', 'plain', 'tagged']);
    for (const entry of entries) {
      expect(entry.attr, entry.name).toEqual(await h.vfs.getattr(entry.ino));
      expect(entry.hasXattrs, entry.name).toBe((await h.vfs.listxattr(entry.ino)).length > 0);
    }
    expect(entries.find((e) => e.name === 'open')!.attr.size).toBe('written, not flushed'.length);
    expect(entries.filter((e) => e.hasXattrs).map((e) => e.name)).toEqual(['tagged']);
    await h.vfs.release(fh);
    expect(attr.ino).toBe(entries.find((e) => e.name === 'open')!.ino);
  });

  it('new nodes belong to the caller; a setgid directory passes on its group (and the bit to subdirectories)', async () => {
    const file = await writeFile(h.vfs, ROOT_INO, 'mine', 'x', ALICE);
    expect([file.uid, file.gid]).toEqual([ALICE.uid, ALICE.gid]);
    const shared = await h.vfs.mkdir(ROOT_INO, 'shared', 0o777, ROOT);
    await h.vfs.setattr(shared.ino, { gid: 500, mode: 0o2777 }, ROOT);
    const inside = await writeFile(h.vfs, shared.ino, 'f', 'x', ALICE);
    expect(inside.gid).toBe(500);
    const subdir = await h.vfs.mkdir(shared.ino, 'sub', 0o755, ALICE);
    expect(subdir.gid).toBe(500);
    expect(subdir.mode & S_ISGID).toBe(S_ISGID);
  });

  it('chmod: owner or root only (EPERM); type bits stay; ctime moves, mtime does not; metadata re-uploaded', async () => {
    const file = await writeFile(h.vfs, ROOT_INO, 'f', 'content', ALICE);
    await h.vfs.sync();
    expect(await codeOf(h.vfs.setattr(file.ino, { mode: 0o600 }, BOB))).toBe('EPERM');
    const changed = await h.vfs.setattr(file.ino, { mode: constants.S_IFDIR | 0o600 }, ALICE);
    expect(changed.mode).toBe(constants.S_IFREG | 0o600);
    expect(changed.ctimeNs).toBeGreaterThan(file.ctimeNs);
    expect(changed.mtimeNs).toBe(file.mtimeNs);
    // Write-back: the new metadata travels with a new upload, journaled now and run later.
    expect((await backend.stat('f')).metadata?.['storaged-mode']).toBe((constants.S_IFREG | 0o644).toString(8));
    expect(h.vfs.status().pending).toMatchObject({ operations: 1, uploads: 1 });
    await h.vfs.sync();
    expect((await backend.stat('f')).metadata?.['storaged-mode']).toBe((constants.S_IFREG | 0o600).toString(8));
    expect((await readObject(backend, 'f')).toString()).toBe('content');
    await h.vfs.setattr(file.ino, { mode: 0o644 }, ROOT);
    expect((await h.vfs.getattr(file.ino)).mode).toBe(constants.S_IFREG | 0o644);
  });

  it('chmod of an open file reaches the backend with the data on release', async () => {
    const { attr, fh } = await h.vfs.create(ROOT_INO, 'open', 0o644, RDWR, ALICE);
    await h.vfs.write(fh, 0, Buffer.from('data'));
    await h.vfs.release(fh);
    await h.vfs.sync();
    const again = await h.vfs.open(attr.ino, RDWR, ALICE);
    await h.vfs.setattr(attr.ino, { mode: 0o640 }, ALICE);
    expect(h.vfs.status().pending.uploads).toBe(1); // journaled; scheduled by the release
    expect((await backend.stat('open')).metadata?.['storaged-mode']).toBe((constants.S_IFREG | 0o644).toString(8));
    await h.vfs.release(again);
    await h.vfs.sync();
    expect((await backend.stat('open')).metadata?.['storaged-mode']).toBe((constants.S_IFREG | 0o640).toString(8));
    expect((await readObject(backend, 'open')).toString()).toBe('data');
  });

  it('chown: root sets anything; the owner only its own group; others EPERM; setuid/setgid cleared', async () => {
    const file = await writeFile(h.vfs, ROOT_INO, 'f', 'x', ALICE);
    expect(await codeOf(h.vfs.setattr(file.ino, { uid: BOB.uid }, ALICE))).toBe('EPERM');
    expect(await codeOf(h.vfs.setattr(file.ino, { gid: 4242 }, ALICE))).toBe('EPERM');
    expect(await codeOf(h.vfs.setattr(file.ino, { gid: BOB.gid }, BOB))).toBe('EPERM');
    expect(await codeOf(h.vfs.setattr(file.ino, { uid: ALICE.uid }, BOB))).toBe('EPERM');
    await h.vfs.setattr(file.ino, { mode: 0o6755 }, ROOT);
    const regrouped = await h.vfs.setattr(file.ino, { gid: ALICE.gid, uid: ALICE.uid }, ALICE);
    expect(regrouped.mode & (S_ISUID | S_ISGID)).toBe(S_ISUID | S_ISGID); // nothing changed: bits kept
    const given = await h.vfs.setattr(file.ino, { uid: 4321, gid: 8765 }, ROOT);
    expect([given.uid, given.gid]).toEqual([4321, 8765]);
    expect(given.mode & 0o7777).toBe(0o755);
    await h.vfs.sync();
    const meta = (await backend.stat('f')).metadata;
    expect([meta?.['storaged-uid'], meta?.['storaged-gid']]).toEqual(['4321', '8765']);
  });

  it('utimens: explicit times by owner or root (EPERM otherwise); now by anyone who may write (EACCES otherwise)', async () => {
    const file = await writeFile(h.vfs, ROOT_INO, 'f', 'x', ALICE);
    await h.vfs.setattr(file.ino, { mode: 0o646 }, ALICE);
    expect(await codeOf(h.vfs.setattr(file.ino, { mtime: 5n }, BOB))).toBe('EPERM');
    const touched = await h.vfs.setattr(file.ino, { atime: 'now', mtime: 'now' }, BOB); // world-writable
    expect(touched.mtimeNs).toBeGreaterThan(file.mtimeNs);
    await h.vfs.setattr(file.ino, { mode: 0o644 }, ALICE);
    expect(await codeOf(h.vfs.setattr(file.ino, { mtime: 'now' }, BOB))).toBe('EACCES');
    const set = await h.vfs.setattr(file.ino, { atime: 1_000_000_123n, mtime: 2_000_000_456n }, ALICE);
    expect(set.atimeNs).toBe(1_000_000_123n);
    expect(set.mtimeNs).toBe(2_000_000_456n);
    expect(set.ctimeNs).toBeGreaterThan(touched.ctimeNs);
    await h.vfs.sync();
    expect((await backend.stat('f')).metadata?.['storaged-mtime-ns']).toBe('2000000456');
    expect(await codeOf(h.vfs.setattr(file.ino, { size: 0 }, BOB))).toBe('EACCES');
  });

  it('namespace changes move the parent mtime/ctime and the node ctime', async () => {
    const dir = await h.vfs.mkdir(ROOT_INO, 'd', 0o755, ROOT);
    const file = await writeFile(h.vfs, dir.ino, 'f', 'x');
    const afterCreate = await h.vfs.getattr(dir.ino);
    expect(afterCreate.mtimeNs).toBeGreaterThan(dir.mtimeNs);
    await h.vfs.rename(dir.ino, 'f', dir.ino, 'g');
    const afterRename = await h.vfs.getattr(dir.ino);
    expect(afterRename.mtimeNs).toBeGreaterThan(afterCreate.mtimeNs);
    expect((await h.vfs.getattr(file.ino)).ctimeNs).toBeGreaterThan(file.ctimeNs);
    await h.vfs.unlink(dir.ino, 'g');
    expect((await h.vfs.getattr(dir.ino)).mtimeNs).toBeGreaterThan(afterRename.mtimeNs);
  });

  it('xattrs live in the index: set, get, list, remove; ENODATA; create/replace flags', async () => {
    const file = await writeFile(h.vfs, ROOT_INO, 'f', 'x');
    await h.vfs.setxattr(file.ino, 'user.color', Buffer.from('blue'), 0);
    expect((await h.vfs.getxattr(file.ino, 'user.color')).toString()).toBe('blue');
    expect(await h.vfs.listxattr(file.ino)).toEqual(['user.color']);
    expect(await codeOf(h.vfs.setxattr(file.ino, 'user.color', Buffer.from('red'), 1))).toBe('EEXIST');
    expect(await codeOf(h.vfs.setxattr(file.ino, 'user.size', Buffer.from('big'), 2))).toBe('ENODATA');
    await h.vfs.setxattr(file.ino, 'user.color', Buffer.from('red'), 2);
    expect((await h.vfs.getxattr(file.ino, 'user.color')).toString()).toBe('red');
    await h.vfs.removexattr(file.ino, 'user.color');
    expect(await codeOf(h.vfs.getxattr(file.ino, 'user.color'))).toBe('ENODATA');
    expect(await codeOf(h.vfs.removexattr(file.ino, 'user.color'))).toBe('ENODATA');
    expect(await codeOf(h.vfs.getxattr(9999, 'user.x'))).toBe('ENOENT');
    await h.vfs.sync();
    expect((await backend.stat('f')).metadata?.['user.color']).toBeUndefined();
  });

  it('statfs: a fixed large capacity, nameMax 255, inode counts', async () => {
    const stats = await h.vfs.statfs();
    expect(stats.nameMax).toBe(255);
    expect(stats.blockSize).toBe(4096);
    expect(stats.blocks * stats.blockSize).toBe(2 ** 50);
    expect(stats.blocksFree).toBeLessThanOrEqual(stats.blocks);
    expect(stats.filesFree).toBeLessThan(stats.files);
  });
});
