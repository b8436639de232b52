import { afterEach, describe, expect, it } from 'vitest';
import { MemoryDriver } from '../../../src/drivers/memory/index.js';
import { ROOT_INO } from '../../../src/daemon/vfs/types.js';
import { codeOf, eventually, names, openHarness, RDWR, readObject, resolve, ROOT, type Harness } from './support.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** The harness cuts content in blocks of 64 KiB: 200 KiB spans four blocks. */
const KIB = 1024;

/** Deterministic bytes whose every offset is distinguishable. */
function pattern(length: number): Buffer {
  const out = Buffer.alloc(length);
  for (let i = 0; i < length; i++) out[i] = (i * 31 + (i >> 8)) & 0xff;
  return out;
}

describe('vfs: open handles across renames and remote deletions (memory backend)', () => {
  const harnesses: Harness[] = [];
  const open = async (backend: MemoryDriver, refreshTtl?: number) => {
    const h = await openHarness(backend, refreshTtl !== undefined ? { refreshTtl } : {});
    harnesses.push(h);
    return h;
  };
  afterEach(async () => {
    await Promise.all(harnesses.splice(0).map((h) => h.close()));
  });

  it('a file renamed while open still reads its uncached blocks, and a partial write commits to the new key', async () => {
    const backend = new MemoryDriver();
    const data = pattern(200 * KIB);
    await backend.write('old.bin', data);
    const h = await open(backend); // fresh cache: no block of old.bin is cached
    const file = await resolve(h.vfs, 'old.bin');
    const fh = await h.vfs.open(file.ino, RDWR, ROOT);
    expect((await h.vfs.read(fh, 0, 10)).equals(data.subarray(0, 10))).toBe(true);

    await h.vfs.rename(ROOT_INO, 'old.bin', ROOT_INO, 'new.bin');
    await h.vfs.sync(); // the backend move is done (a read racing it: the case below)
    expect((await h.vfs.read(fh, 130 * KIB, 10)).equals(data.subarray(130 * KIB, 130 * KIB + 10))).toBe(true);

    await h.vfs.write(fh, 5, Buffer.from('XY'));
    await h.vfs.release(fh);
    await h.vfs.sync(); // the commit fills the unwritten ranges from the clean content
    const expected = Buffer.from(data);
    expected.write('XY', 5);
    expect((await readObject(backend, 'new.bin')).equals(expected)).toBe(true);
    await expect(backend.stat('old.bin')).rejects.toMatchObject({ code: 'ENOENT' });
  });

  // rename returns before the backend move; a read that finds the old key gone waits for the move and reads the new one.
  it('a read of an uncached block right after rename (backend move in flight) still reads the data', async () => {
    const backend = new MemoryDriver();
    const data = pattern(200 * KIB);
    await backend.write('old.bin', data);
    const h = await open(backend);
    const fh = await h.vfs.open((await resolve(h.vfs, 'old.bin')).ino, RDWR, ROOT);
    expect((await h.vfs.read(fh, 0, 10)).equals(data.subarray(0, 10))).toBe(true); // caches the first blocks only
    await h.vfs.rename(ROOT_INO, 'old.bin', ROOT_INO, 'new.bin');
    expect((await h.vfs.read(fh, 130 * KIB, 10)).equals(data.subarray(130 * KIB, 130 * KIB + 10))).toBe(true);
    await h.vfs.release(fh);
  });

  it('a file open below a renamed directory reads and commits at its new place', async () => {
    const backend = new MemoryDriver();
    const data = pattern(150 * KIB);
    await backend.write('dir/sub/f.bin', data);
    const h = await open(backend);
    const file = await resolve(h.vfs, 'dir/sub/f.bin');
    const fh = await h.vfs.open(file.ino, RDWR, ROOT);

    await h.vfs.rename(ROOT_INO, 'dir', ROOT_INO, 'moved');
    expect((await h.vfs.read(fh, 100 * KIB, 16)).equals(data.subarray(100 * KIB, 100 * KIB + 16))).toBe(true);
    await h.vfs.write(fh, 140 * KIB, Buffer.from('tail'));
    await h.vfs.release(fh);
    await h.vfs.sync();
    const expected = Buffer.from(data);
    expected.write('tail', 140 * KIB);
    expect((await readObject(backend, 'moved/sub/f.bin')).equals(expected)).toBe(true);
    expect((await backend.list('', { recursive: true })).entries.map((e) => e.path).sort()).toEqual(['moved', 'moved/sub', 'moved/sub/f.bin']);
  });

  it('a file deleted remotely while open loses its name but keeps its row until the last release', async () => {
    const backend = new MemoryDriver();
    await backend.write('watched.txt', Buffer.from('remote content'));
    const h = await open(backend, 0.2);
    const file = await resolve(h.vfs, 'watched.txt');
    const fh = await h.vfs.open(file.ino, RDWR, ROOT);
    expect((await h.vfs.read(fh, 0, 100)).toString()).toBe('remote content');

    await backend.delete('watched.txt');
    await sleep(250);
    await eventually(async () => expect(await names(h.vfs, ROOT_INO)).toEqual([]));
    // The handle still works: attributes, and reads of what is cached.
    expect((await h.vfs.getattr(file.ino)).nlink).toBe(0);
    expect((await h.vfs.read(fh, 0, 6)).toString()).toBe('remote');

    await h.vfs.release(fh);
    expect(await codeOf(h.vfs.getattr(file.ino))).toBe('ENOENT');
    // Nothing was uploaded: the remote deletion stands.
    await expect(backend.stat('watched.txt')).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('data written but not yet flushed survives a remote deletion during a refresh (local changes win)', async () => {
    const backend = new MemoryDriver();
    await backend.write('draft.txt', Buffer.from('old'));
    const h = await open(backend, 0.2);
    const file = await resolve(h.vfs, 'draft.txt');
    const fh = await h.vfs.open(file.ino, RDWR, ROOT);
    await h.vfs.write(fh, 0, Buffer.from('new text'));

    await backend.delete('draft.txt');
    await sleep(250);
    await h.vfs.readdir(ROOT_INO); // starts the background refresh
    await sleep(100);
    await h.vfs.release(fh);
    await h.vfs.sync();
    expect((await readObject(backend, 'draft.txt')).toString()).toBe('new text');
    expect(await names(h.vfs, ROOT_INO)).toEqual(['draft.txt']);
  });
});
