import { constants } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MemoryDriver } from '../../../src/drivers/memory/index.js';
import { ROOT_INO } from '../../../src/daemon/vfs/types.js';
import { codeOf, eventually, openHarness, RDONLY, RDWR, readFile, readObject, resolve, ROOT, WRONLY, writeFile, type Harness } from './support.js';

const BLOCK = 64 * 1024;

/** Deterministic bytes. */
function pattern(length: number, seed: number): Buffer {
  const out = Buffer.alloc(length);
  for (let i = 0; i < length; i++) out[i] = (i * 31 + seed * 7) & 0xff;
  return out;
}

describe('vfs data path (memory backend)', () => {
  let backend: MemoryDriver;
  let h: Harness;
  beforeEach(async () => {
    backend = new MemoryDriver();
    h = await openHarness(backend);
  });
  afterEach(async () => {
    await h.close();
  });

  it('create, write, read, release: the object is on the backend with POSIX metadata', async () => {
    const attr = await writeFile(h.vfs, ROOT_INO, 'hello.txt', 'hello world', ROOT, 0o640);
    expect(attr.size).toBe(11);
    expect(attr.mode).toBe(constants.S_IFREG | 0o640);
    await expect(backend.stat('hello.txt')).rejects.toMatchObject({ code: 'ENOENT' }); // write-back: not yet
    expect(h.vfs.status().pending).toMatchObject({ operations: 1, uploads: 1, bytes: 11 });
    await h.vfs.sync();
    expect(h.vfs.status().pending).toMatchObject({ operations: 0, uploads: 0, bytes: 0 });
    expect((await readObject(backend, 'hello.txt')).toString()).toBe('hello world');
    const stat = await backend.stat('hello.txt');
    expect(stat.metadata).toMatchObject({ 'storaged-mode': (constants.S_IFREG | 0o640).toString(8), 'storaged-uid': '0', 'storaged-gid': '0' });
    expect(stat.metadata?.['storaged-mtime-ns']).toBe(attr.mtimeNs.toString());
    expect((await readFile(h.vfs, attr.ino)).toString()).toBe('hello world');
  });

  it('a file created and released without writes is uploaded empty; mknod too, after the delay or sync()', async () => {
    const { fh } = await h.vfs.create(ROOT_INO, 'empty', 0o600, WRONLY, ROOT);
    await expect(backend.stat('empty')).rejects.toMatchObject({ code: 'ENOENT' });
    await h.vfs.release(fh);
    await expect(backend.stat('empty')).rejects.toMatchObject({ code: 'ENOENT' });
    const node = await h.vfs.mknod(ROOT_INO, 'node', constants.S_IFREG | 0o644, ROOT);
    expect(node.size).toBe(0);
    await expect(backend.stat('node')).rejects.toMatchObject({ code: 'ENOENT' });
    expect(h.vfs.status().pending).toMatchObject({ operations: 2, uploads: 2, bytes: 0 });
    await h.vfs.sync();
    expect((await backend.stat('empty')).size).toBe(0);
    expect((await backend.stat('node')).size).toBe(0);
    expect(h.vfs.status().pending.operations).toBe(0);
    expect(await codeOf(h.vfs.mknod(ROOT_INO, 'fifo', constants.S_IFIFO | 0o644, ROOT))).toBe('EPERM');
  });

  it('writes at offsets across blocks are visible to other handles at once; getattr shows the dirty size', async () => {
    const { attr, fh } = await h.vfs.create(ROOT_INO, 'f', 0o644, RDWR, ROOT);
    let model = pattern(3 * BLOCK + 5, 1);
    await h.vfs.write(fh, 0, model);
    for (const at of [BLOCK - 7, 2 * BLOCK - 1, 3 * BLOCK + 100]) {
      const patch = pattern(300, at);
      await h.vfs.write(fh, at, patch);
      if (at + patch.length > model.length) model = Buffer.concat([model, Buffer.alloc(at + patch.length - model.length)]);
      patch.copy(model, at);
    }
    expect((await h.vfs.getattr(attr.ino)).size).toBe(model.length);
    const reader = await h.vfs.open(attr.ino, RDONLY, ROOT);
    expect((await h.vfs.read(reader, 0, model.length + 10)).equals(model)).toBe(true);
    expect((await h.vfs.read(reader, BLOCK - 10, 20)).equals(model.subarray(BLOCK - 10, BLOCK + 10))).toBe(true);
    expect((await h.vfs.read(reader, model.length + 5, 10)).length).toBe(0);
    await h.vfs.release(reader);
    await expect(backend.stat('f')).rejects.toMatchObject({ code: 'ENOENT' }); // not before the writer's release
    await h.vfs.release(fh);
    expect(h.vfs.status().pending).toMatchObject({ uploads: 1, bytes: model.length });
    await h.vfs.sync();
    expect((await readObject(backend, 'f')).equals(model)).toBe(true);
    // A cold read of the clean file (blocks from the cache or the backend) gives the same bytes.
    await h.remount();
    expect((await readFile(h.vfs, (await resolve(h.vfs, 'f')).ino)).equals(model)).toBe(true);
  });

  it('O_TRUNC empties a file; O_APPEND writes at the end whatever the offset', async () => {
    const attr = await writeFile(h.vfs, ROOT_INO, 'log', 'first line\n');
    const trunc = await h.vfs.open(attr.ino, { flags: constants.O_WRONLY | constants.O_TRUNC }, ROOT);
    expect((await h.vfs.getattr(attr.ino)).size).toBe(0);
    await h.vfs.write(trunc, 0, Buffer.from('one\n'));
    await h.vfs.release(trunc);
    const append = await h.vfs.open(attr.ino, { flags: constants.O_WRONLY | constants.O_APPEND }, ROOT);
    await h.vfs.write(append, 0, Buffer.from('two\n'));
    await Promise.all([h.vfs.write(append, 0, Buffer.from('three\n')), h.vfs.write(append, 0, Buffer.from('four\n'))]);
    await h.vfs.release(append);
    await h.vfs.sync();
    expect((await readObject(backend, 'log')).toString()).toBe('one\ntwo\nthree\nfour\n');
    // O_TRUNC on a read-only open changes nothing.
    const ro = await h.vfs.open(attr.ino, { flags: constants.O_RDONLY | constants.O_TRUNC }, ROOT);
    expect((await h.vfs.getattr(attr.ino)).size).toBe(19);
    await h.vfs.release(ro);
  });

  it('truncate by setattr: without a handle its upload is scheduled; through a handle on release', async () => {
    const attr = await writeFile(h.vfs, ROOT_INO, 't', pattern(2 * BLOCK, 3));
    await h.vfs.sync();
    await h.vfs.setattr(attr.ino, { size: 10 }, ROOT);
    expect((await readObject(backend, 't')).length).toBe(2 * BLOCK); // write-back: not yet
    expect(h.vfs.status().pending).toMatchObject({ uploads: 1, bytes: 10 });
    await h.vfs.sync();
    expect((await readObject(backend, 't')).equals(pattern(2 * BLOCK, 3).subarray(0, 10))).toBe(true);
    await h.vfs.setattr(attr.ino, { size: 20 }, ROOT);
    await h.vfs.sync();
    expect((await readObject(backend, 't')).equals(Buffer.concat([pattern(2 * BLOCK, 3).subarray(0, 10), Buffer.alloc(10)]))).toBe(true);
    const fh = await h.vfs.open(attr.ino, RDWR, ROOT);
    expect((await h.vfs.setattr(attr.ino, { size: 3 }, ROOT, fh)).size).toBe(3);
    expect(h.vfs.status().pending.uploads).toBe(0); // like a write: journaled on close
    expect((await readObject(backend, 't')).length).toBe(20);
    await h.vfs.release(fh);
    await h.vfs.sync();
    expect((await readObject(backend, 't')).length).toBe(3);
    expect(await codeOf(h.vfs.setattr(ROOT_INO, { size: 0 }, ROOT))).toBe('EISDIR');
    expect(await codeOf(h.vfs.setattr(attr.ino, { size: -1 }, ROOT))).toBe('EINVAL');
  });

  it('fsync makes the file durable locally and schedules its upload, which runs while the handle stays open; later writes upload again on release', async () => {
    await h.close();
    h = await openHarness(backend, { writeBack: { delay: 0.5 } });
    const { attr, fh } = await h.vfs.create(ROOT_INO, 's', 0o644, RDWR, ROOT);
    await h.vfs.write(fh, 0, Buffer.from('synced'));
    await h.vfs.fsync(fh, false);
    await expect(backend.stat('s')).rejects.toMatchObject({ code: 'ENOENT' }); // scheduled, not done
    expect(h.vfs.status().pending).toMatchObject({ uploads: 1, bytes: 6 });
    await eventually(async () => expect((await readObject(backend, 's')).toString()).toBe('synced'));
    // Let that upload finish: a write racing its end would requeue it (see writeback.test.ts).
    await eventually(async () => expect(h.vfs.status()).toMatchObject({ pending: { operations: 0 }, inFlight: [], totals: { uploads: 1 } }));
    await new Promise((r) => setTimeout(r, 20));
    await h.vfs.write(fh, 6, Buffer.from(' twice'));
    await new Promise((r) => setTimeout(r, 700)); // past the delay: nothing is uploaded while the handle is open
    expect((await readObject(backend, 's')).toString()).toBe('synced');
    await h.vfs.release(fh);
    await eventually(async () => expect((await readObject(backend, 's')).toString()).toBe('synced twice'));
    expect((await h.vfs.getattr(attr.ino)).size).toBe(12);
    expect(h.vfs.status().pending.operations).toBe(0);
  });

  it('writes update mtime and ctime in memory; flush saves them; a read-only open uploads nothing', async () => {
    const attr = await writeFile(h.vfs, ROOT_INO, 'times', 'abc');
    await h.vfs.sync();
    h.counts.reset();
    const ro = await h.vfs.open(attr.ino, RDONLY, ROOT);
    await h.vfs.read(ro, 0, 3);
    await h.vfs.release(ro);
    expect(h.vfs.status().pending.operations).toBe(0);
    await h.vfs.sync();
    expect(h.counts.calls.get('write') ?? 0).toBe(0);
    const fh = await h.vfs.open(attr.ino, RDWR, ROOT);
    await h.vfs.write(fh, 3, Buffer.from('d'));
    const during = await h.vfs.getattr(attr.ino);
    expect(during.mtimeNs).toBeGreaterThan(attr.mtimeNs);
    expect(during.ctimeNs).toBeGreaterThan(attr.ctimeNs);
    expect(during.size).toBe(4);
    await h.vfs.flush(fh);
    expect(await h.vfs.getattr(attr.ino)).toEqual(during);
    await h.vfs.release(fh);
    await h.vfs.sync();
    expect((await backend.stat('times')).metadata?.['storaged-mtime-ns']).toBe(during.mtimeNs.toString());
  });

  it('a file unlinked while open stays readable through its handle and is never uploaded', async () => {
    const attr = await writeFile(h.vfs, ROOT_INO, 'doomed', 'still here');
    await h.vfs.sync();
    const fh = await h.vfs.open(attr.ino, RDWR, ROOT);
    await h.vfs.unlink(ROOT_INO, 'doomed');
    expect(h.vfs.status().pending.operations).toBe(1); // the deletion, journaled
    await h.vfs.sync();
    await expect(backend.stat('doomed')).rejects.toMatchObject({ code: 'ENOENT' });
    await h.vfs.write(fh, 0, Buffer.from('STILL'));
    expect((await h.vfs.read(fh, 0, 100)).toString()).toBe('STILL here');
    await h.vfs.release(fh);
    await h.vfs.sync();
    await expect(backend.stat('doomed')).rejects.toMatchObject({ code: 'ENOENT' });
    expect(await codeOf(h.vfs.getattr(attr.ino))).toBe('ENOENT');
  });

  it('close() uploads files still open with changes; the VFS refuses calls afterwards', async () => {
    const { fh } = await h.vfs.create(ROOT_INO, 'open-at-close', 0o644, RDWR, ROOT);
    await h.vfs.write(fh, 0, Buffer.from('pending'));
    const vfs = h.vfs;
    await h.remount();
    expect((await readObject(backend, 'open-at-close')).toString()).toBe('pending');
    expect(await codeOf(vfs.getattr(ROOT_INO))).toBe('EIO');
    expect((await readFile(h.vfs, (await resolve(h.vfs, 'open-at-close')).ino)).toString()).toBe('pending');
  });

  it('rejects bad handles, writes on read-only handles, opening directories and symlinks', async () => {
    expect(await codeOf(h.vfs.read(999, 0, 1))).toBe('EBADF');
    expect(await codeOf(h.vfs.release(999))).toBe('EBADF');
    const attr = await writeFile(h.vfs, ROOT_INO, 'ro', 'x');
    const fh = await h.vfs.open(attr.ino, RDONLY, ROOT);
    expect(await codeOf(h.vfs.write(fh, 0, Buffer.from('y')))).toBe('EBADF');
    await h.vfs.release(fh);
    expect(await codeOf(h.vfs.open(ROOT_INO, RDONLY, ROOT))).toBe('EISDIR');
    const link = await h.vfs.symlink(ROOT_INO, 'ln', 'ro', ROOT);
    expect(await codeOf(h.vfs.open(link.ino, RDONLY, ROOT))).toBe('ELOOP');
    expect(await codeOf(h.vfs.open(12345, RDONLY, ROOT))).toBe('ENOENT');
  });
});
