import { constants } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryDriver, MemoryTree } from '../../../src/drivers/memory/index.js';
import { ROOT_INO, type Ino, type Vfs } from '../../../src/daemon/vfs/types.js';
import { ALICE, eventually, names, openHarness, RDWR, readFile, resolve, ROOT, writeFile, type Harness } from './support.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Every path below `dir` with its attributes, by readdir + lookup (what `ls -lR` does). */
async function walk(vfs: Vfs, dir: Ino = ROOT_INO, prefix = ''): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await vfs.readdir(dir)) {
    const attr = await vfs.lookup(dir, entry.name);
    out.push(`${prefix}${entry.name} ${attr.type} ${attr.size} ${attr.mode.toString(8)}`);
    if (attr.type === 'directory') out.push(...(await walk(vfs, attr.ino, `${prefix}${entry.name}/`)));
  }
  return out;
}

describe('vfs directory refresh (memory backend)', () => {
  const harnesses: Harness[] = [];
  const open = async (backend: MemoryDriver, refreshTtl?: number) => {
    const h = await openHarness(backend, refreshTtl !== undefined ? { refreshTtl } : {});
    harnesses.push(h);
    return h;
  };
  afterEach(async () => {
    await Promise.all(harnesses.splice(0).map((h) => h.close()));
  });

  it('a directory never listed is listed before lookup answers', async () => {
    const backend = new MemoryDriver();
    await backend.write('x/y/z.txt', Buffer.from('from elsewhere'));
    const h = await open(backend);
    const file = await resolve(h.vfs, 'x/y/z.txt');
    expect(file.size).toBe(14);
    expect(file.mode).toBe(constants.S_IFREG | 0o644);
    expect((await readFile(h.vfs, file.ino)).toString()).toBe('from elsewhere');
    expect((await resolve(h.vfs, 'x')).mode).toBe(constants.S_IFDIR | 0o755);
  });

  it('remote additions, changes and deletions show after the TTL (stale: answered at once, refreshed behind)', async () => {
    const backend = new MemoryDriver();
    const h = await open(backend, 0.3);
    const kept = await writeFile(h.vfs, ROOT_INO, 'kept', 'version 1');
    await writeFile(h.vfs, ROOT_INO, 'gone', 'bye');
    await h.vfs.sync(); // clean copies of the backend's objects: the remote changes then win
    expect(await names(h.vfs, ROOT_INO)).toEqual(['gone', 'kept']);
    await backend.write('added', Buffer.from('new'));
    await backend.write('kept', Buffer.from('version 2, longer'));
    await backend.delete('gone');
    expect(await names(h.vfs, ROOT_INO)).toEqual(['gone', 'kept']); // still fresh
    await sleep(350);
    await eventually(async () => expect(await names(h.vfs, ROOT_INO)).toEqual(['added', 'kept']));
    const after = await h.vfs.getattr(kept.ino);
    expect(after.size).toBe(17);
    expect((await readFile(h.vfs, kept.ino)).toString()).toBe('version 2, longer');
  });

  it('concurrent readdirs of a stale directory share one backend listing', async () => {
    const backend = new MemoryDriver({ latencyMs: 30 });
    const h = await open(backend, 0);
    await h.vfs.readdir(ROOT_INO);
    h.counts.reset();
    await Promise.all(Array.from({ length: 5 }, () => h.vfs.readdir(ROOT_INO)));
    expect(h.counts.calls.get('list')).toBe(1);
  });

  it('background listings racing our own uploads, renames and deletes never lose or resurrect an entry', async () => {
    const backend = new MemoryDriver({ latencyMs: 3 });
    // No write-back delay: each upload runs right after its release, racing the listings.
    const h = await openHarness(backend, { refreshTtl: 0, writeBack: { delay: 0 } });
    harnesses.push(h);
    const dir = await h.vfs.mkdir(ROOT_INO, 'busy', 0o755, ROOT);
    const expected = new Set<string>();
    for (let i = 0; i < 25; i++) {
      const listing = h.vfs.readdir(dir.ino); // starts a background listing (TTL 0)
      await writeFile(h.vfs, dir.ino, `f${i}`, `content ${i}`);
      expected.add(`f${i}`);
      if (i % 3 === 0) {
        await h.vfs.rename(dir.ino, `f${i}`, dir.ino, `g${i}`);
        expected.delete(`f${i}`);
        expected.add(`g${i}`);
      }
      if (i % 3 === 1) {
        await h.vfs.unlink(dir.ino, `f${i}`);
        expected.delete(`f${i}`);
      }
      await listing;
      expect(new Set(await names(h.vfs, dir.ino))).toEqual(expected);
    }
    await new Promise((r) => setTimeout(r, 50)); // let the last background listing land
    expect(new Set(await names(h.vfs, dir.ino))).toEqual(expected);
    await h.vfs.sync();
    expect(new Set(await names(h.vfs, dir.ino))).toEqual(expected);
    const remote = (await backend.list('busy', { recursive: false })).entries.map((e) => e.path.slice('busy/'.length));
    expect(new Set(remote)).toEqual(expected);
  });

  it('a refresh keeps files created locally and not yet uploaded', async () => {
    const backend = new MemoryDriver();
    const h = await open(backend, 0);
    const { fh } = await h.vfs.create(ROOT_INO, 'local-only', 0o644, RDWR, ROOT);
    await h.vfs.write(fh, 0, Buffer.from('unsaved'));
    await backend.write('other', Buffer.from('x'));
    await eventually(async () => expect(await names(h.vfs, ROOT_INO)).toEqual(['local-only', 'other']));
    await h.vfs.release(fh);
    expect(await names(h.vfs, ROOT_INO)).toEqual(['local-only', 'other']);
  });

  it('a remount lists a big tree from the index without a single backend call', async () => {
    const backend = new MemoryDriver();
    for (let d = 0; d < 10; d++) {
      for (let f = 0; f < 150; f++) await backend.write(`dir${d}/sub/file${f}.txt`, Buffer.from(`${d}/${f}`));
      await backend.write(`dir${d}/top.txt`, Buffer.from('top'));
    }
    const h = await open(backend);
    const first = await walk(h.vfs);
    expect(first.length).toBe(10 * (150 + 3));
    const warm = await resolve(h.vfs, 'dir3/sub/file7.txt');
    expect((await readFile(h.vfs, warm.ino)).toString()).toBe('3/7');
    await h.remount();
    h.counts.reset();
    expect(await walk(h.vfs)).toEqual(first);
    expect((await readFile(h.vfs, (await resolve(h.vfs, 'dir3/sub/file7.txt')).ino)).toString()).toBe('3/7');
    expect(Object.fromEntries(h.counts.calls)).toEqual({});
  });

  it('another VFS on the same backend sees symlinks, modes and owners (listings carry metadata)', async () => {
    const tree = new MemoryTree();
    const a = await open(new MemoryDriver({ tree }));
    const dir = await a.vfs.mkdir(ROOT_INO, 'd', 0o755, ROOT);
    await writeFile(a.vfs, dir.ino, 'owned', 'x', ALICE, 0o600);
    await a.vfs.symlink(dir.ino, 'ln', 'owned', ALICE);
    await a.vfs.sync();
    const b = await open(new MemoryDriver({ tree }));
    const owned = await resolve(b.vfs, 'd/owned');
    expect([owned.uid, owned.gid, owned.mode]).toEqual([ALICE.uid, ALICE.gid, constants.S_IFREG | 0o600]);
    expect(owned.mtimeNs).toBe((await resolve(a.vfs, 'd/owned')).mtimeNs);
    const link = await resolve(b.vfs, 'd/ln');
    expect(link.type).toBe('symlink');
    expect(await b.vfs.readlink(link.ino)).toBe('owned');
  });
});
