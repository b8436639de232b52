import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { MemoryDriver } from '../../../src/drivers/memory/index.js';
import { ROOT_INO } from '../../../src/daemon/vfs/types.js';
import { openHarness, RDWR, readFile, readObject, resolve, ROOT, writeFile, type Harness } from './support.js';

describe('createDiskVfs: clock and startup (memory backend)', () => {
  const harnesses: Harness[] = [];
  afterEach(async () => {
    vi.useRealTimers();
    await Promise.all(harnesses.splice(0).map((h) => h.close()));
  });

  it('index and VFS share one clock: ctime never goes back within one millisecond', async () => {
    // A frozen wall clock: every time then comes from the strictly increasing counter of the shared clock.
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(new Date('2100-01-01T00:00:00Z'));
    const h = await openHarness(new MemoryDriver());
    harnesses.push(h);
    const file = await writeFile(h.vfs, ROOT_INO, 'f', 'x');
    let last = (await h.vfs.getattr(file.ino)).ctimeNs;
    for (let i = 0; i < 5; i++) {
      await h.vfs.setattr(file.ino, { mode: 0o600 + i }, ROOT); // VFS times
      const afterChmod = (await h.vfs.getattr(file.ino)).ctimeNs;
      expect(afterChmod).toBeGreaterThan(last);
      await h.vfs.link(file.ino, ROOT_INO, `link-${i}`); // index times
      const afterLink = (await h.vfs.getattr(file.ino)).ctimeNs;
      expect(afterLink).toBeGreaterThan(afterChmod);
      last = afterLink;
    }
  });

  it('a small file written whole becomes its cached block once uploaded; a remount reads it without the backend', async () => {
    const backend = new MemoryDriver();
    const h = await openHarness(backend);
    harnesses.push(h);
    const cache = join(h.cacheDir, 'disk');
    const blockFiles = () => readdirSync(join(cache, 'blocks')).flatMap((prefix) => readdirSync(join(cache, 'blocks', prefix)));
    const small = await writeFile(h.vfs, ROOT_INO, 'small.txt', 'four KiB or so');
    const big = await writeFile(h.vfs, ROOT_INO, 'big.bin', Buffer.alloc(100 * 1024, 7)); // two blocks of 64 KiB: put block by block
    expect(readdirSync(join(cache, 'work')).sort()).toEqual([String(small.ino), String(big.ino)].sort()); // waiting for their uploads
    await h.vfs.sync();
    expect(readdirSync(join(cache, 'work'))).toEqual([]);
    expect(blockFiles()).toHaveLength(3); // small.txt, and big.bin's two distinct blocks
    expect((await readObject(backend, 'small.txt')).toString()).toBe('four KiB or so');

    await h.remount();
    h.counts.reset();
    expect((await readFile(h.vfs, small.ino)).toString()).toBe('four KiB or so');
    expect((await readFile(h.vfs, big.ino)).equals(Buffer.alloc(100 * 1024, 7))).toBe(true);
    expect(h.counts.calls.get('read')).toBeUndefined();
  });

  it('at startup, working files of inodes the index no longer has are removed', async () => {
    const h = await openHarness(new MemoryDriver());
    harnesses.push(h);
    const kept = await writeFile(h.vfs, ROOT_INO, 'kept', 'data');
    const { attr, fh } = await h.vfs.create(ROOT_INO, 'doomed', 0o644, RDWR, ROOT);
    await h.vfs.write(fh, 0, Buffer.from('never uploaded'));
    await h.vfs.unlink(ROOT_INO, 'doomed'); // open: its row and working file stay
    const workFile = join(h.cacheDir, 'disk', 'work', String(attr.ino));
    expect(existsSync(workFile)).toBe(true);

    await h.remount(); // the handle dies with the VFS; the index sweeps the nameless node at open
    expect(existsSync(workFile)).toBe(false);
    expect((await readFile(h.vfs, (await resolve(h.vfs, 'kept')).ino)).toString()).toBe('data');
    expect((await resolve(h.vfs, 'kept')).ino).toBe(kept.ino);
  });
});

describe('createDiskVfs: one mount per cache folder', () => {
  const harnesses: Harness[] = [];
  afterEach(async () => {
    await Promise.all(harnesses.splice(0).map((h) => h.close()));
  });

  it('a second open of the same disk cache is EBUSY until the first closes', async () => {
    const first = await openHarness(new MemoryDriver());
    harnesses.push(first);
    await expect(openHarness(new MemoryDriver(), { cacheDir: first.cacheDir })).rejects.toMatchObject({ code: 'EBUSY' });
    await first.vfs.close();
    const second = await openHarness(new MemoryDriver(), { cacheDir: first.cacheDir });
    await second.vfs.close();
  });

  it('a lock left by a dead process is taken over; one held by a live process is EBUSY', async () => {
    const cacheDir = await mkdtemp(join(tmpdir(), 'storaged-lock-'));
    const lockFile = join(cacheDir, 'disk', 'lock');
    mkdirSync(join(cacheDir, 'disk'), { recursive: true });
    try {
      writeFileSync(lockFile, `${process.ppid}\n`); // the test runner: alive
      await expect(openHarness(new MemoryDriver(), { cacheDir })).rejects.toMatchObject({ code: 'EBUSY' });
      const dead = spawnSync(process.execPath, ['-e', '0']).pid; // exited by now
      writeFileSync(lockFile, `${dead}\n`);
      const h = await openHarness(new MemoryDriver(), { cacheDir });
      expect(readFileSync(lockFile, 'utf8').trim()).toBe(String(process.pid));
      await h.vfs.close();
      expect(existsSync(lockFile)).toBe(false);
    } finally {
      await rm(cacheDir, { recursive: true, force: true });
    }
  });
});

