import { afterEach, describe, expect, it } from 'vitest';
import { MemoryDriver } from '../../../src/drivers/memory/index.js';
import { ROOT_INO, type Vfs } from '../../../src/daemon/vfs/types.js';
import {
  codeOf,
  eventually,
  names,
  objectKeys,
  openHarness,
  RDWR,
  readFile,
  readObject,
  resolve,
  ROOT,
  writeFile,
  type Harness,
  type HarnessOptions,
} from './support.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Opens, writes `data` at 0 and closes an existing file (a program's open-write-close). */
async function rewrite(vfs: Vfs, ino: number, data: string): Promise<void> {
  const fh = await vfs.open(ino, RDWR, ROOT);
  await vfs.write(fh, 0, Buffer.from(data));
  await vfs.flush(fh);
  await vfs.release(fh);
}

describe('write-back: close returns at cache speed, the upload follows (memory backend)', () => {
  const harnesses: Harness[] = [];
  const open = async (backend: MemoryDriver, options: HarnessOptions = {}) => {
    const h = await openHarness(backend, options);
    harnesses.push(h);
    return h;
  };
  afterEach(async () => {
    await Promise.all(harnesses.splice(0).map((h) => h.close()));
  });

  it('with the default delay (2 s), close returns before the upload, which then runs without any sync()', async () => {
    const backend = new MemoryDriver();
    const h = await open(backend);
    const before = Date.now();
    await writeFile(h.vfs, ROOT_INO, 'later.txt', 'uploaded later');
    expect(h.vfs.status().pending).toEqual({ operations: 1, uploads: 1, bytes: 14 });
    await expect(backend.stat('later.txt')).rejects.toMatchObject({ code: 'ENOENT' });
    // Polled: the object shows up on its own, never sooner than 2 s after the close (load only makes it later).
    let seenAt: number | undefined;
    while (seenAt === undefined && Date.now() - before < 8000) {
      if (await backend.stat('later.txt').then(() => true, () => false)) seenAt = Date.now();
      else await sleep(20);
    }
    expect(seenAt, 'the upload never came').toBeDefined();
    expect(seenAt! - before).toBeGreaterThanOrEqual(2000);
    expect((await readObject(backend, 'later.txt')).toString()).toBe('uploaded later');
    await eventually(async () => expect(h.vfs.status().pending.operations).toBe(0));
    expect(h.vfs.status()).toMatchObject({ pending: { operations: 0, uploads: 0, bytes: 0 }, totals: { uploads: 1, uploadedBytes: 14 } });
  });

  it('after the delay the object is there; status counts it until then; one upload per file', async () => {
    const backend = new MemoryDriver();
    const h = await open(backend, { writeBack: { delay: 0.5 } });
    await writeFile(h.vfs, ROOT_INO, 'a', 'aaaa');
    await writeFile(h.vfs, ROOT_INO, 'b', 'bb');
    expect(h.vfs.status().pending).toEqual({ operations: 2, uploads: 2, bytes: 6 });
    await expect(backend.stat('a')).rejects.toMatchObject({ code: 'ENOENT' });
    await eventually(async () => expect(await objectKeys(backend)).toEqual(['a', 'b']));
    await eventually(async () => expect(h.vfs.status().pending.operations).toBe(0));
    expect(h.counts.calls.get('write')).toBe(2);
  });

  it('a close within the delay restarts the wait: a file rewritten every 250 ms is uploaded once, with its last bytes', async () => {
    const backend = new MemoryDriver();
    const h = await open(backend, { writeBack: { delay: 1.5 } });
    const file = await writeFile(h.vfs, ROOT_INO, 'busy', 'version 0');
    for (let version = 1; version <= 8; version++) {
      await sleep(250); // 2 s in all: past the delay of the first close
      await rewrite(h.vfs, file.ino, `version ${version}`);
      await expect(backend.stat('busy'), `after close ${version}`).rejects.toMatchObject({ code: 'ENOENT' });
    }
    await eventually(async () => expect((await readObject(backend, 'busy')).toString()).toBe('version 8'));
    await eventually(async () => expect(h.vfs.status().pending.operations).toBe(0));
    expect(h.counts.calls.get('write')).toBe(1);
  });

  it('a write while the upload runs cancels it; a later run uploads the final bytes', async () => {
    const backend = new MemoryDriver({ latencyMs: 300 }); // every backend call takes 300 ms: the upload is slow
    const h = await open(backend, { writeBack: { delay: 0 } });
    const file = await writeFile(h.vfs, ROOT_INO, 'moving', 'first version');
    // The upload is in the backend's write call (which waits 300 ms before taking any byte).
    await eventually(async () => expect(h.counts.calls.get('write')).toBe(1));
    expect(h.vfs.status().inFlight).toEqual(['moving']);
    await rewrite(h.vfs, file.ino, 'FINAL');
    await h.vfs.sync();
    expect((await readObject(backend, 'moving')).toString()).toBe('FINAL version');
    // The cancelled run stored nothing (it never counted as an upload); the final bytes came from one more run.
    expect(h.counts.calls.get('write')).toBe(2);
    expect(h.vfs.status().totals).toMatchObject({ uploads: 1, retries: 0 });
  });

  it('namespace calls return before the backend has them; status counts them; sync() waits for them', async () => {
    const backend = new MemoryDriver({ latencyMs: 1000 });
    const h = await open(backend);
    await h.vfs.readdir(ROOT_INO); // the root is listed: mkdir needs no backend call before answering
    const started = Date.now();
    const dir = await h.vfs.mkdir(ROOT_INO, 'slow', 0o755, ROOT);
    await h.vfs.symlink(dir.ino, 'ln', '../target', ROOT);
    expect(Date.now() - started).toBeLessThan(1000);
    expect(h.vfs.status().pending.operations).toBe(2);
    await h.vfs.sync();
    expect(await objectKeys(backend)).toEqual(['slow/', 'slow/ln']);
    expect(h.vfs.status().pending.operations).toBe(0);
  });
});

describe('write-back: renames and deletions of pending files fold into the queue (memory backend)', () => {
  const harnesses: Harness[] = [];
  const open = async (backend: MemoryDriver, options: HarnessOptions = {}) => {
    const h = await openHarness(backend, options);
    harnesses.push(h);
    return h;
  };
  afterEach(async () => {
    await Promise.all(harnesses.splice(0).map((h) => h.close()));
  });

  it('a file renamed while its upload is pending lands at the new name only (no move on the backend)', async () => {
    const backend = new MemoryDriver();
    const h = await open(backend);
    const dir = await h.vfs.mkdir(ROOT_INO, 'dir', 0o755, ROOT);
    await writeFile(h.vfs, ROOT_INO, 'draft', 'the text');
    await h.vfs.rename(ROOT_INO, 'draft', dir.ino, 'final');
    expect(h.vfs.status().pending.uploads).toBe(1);
    await h.vfs.sync();
    expect(await objectKeys(backend)).toEqual(['dir/', 'dir/final']);
    expect((await readObject(backend, 'dir/final')).toString()).toBe('the text');
    expect([h.counts.calls.get('write'), h.counts.calls.get('move') ?? 0]).toEqual([1, 0]);
  });

  it('a pending file renamed over an uploaded one replaces it on the backend', async () => {
    const backend = new MemoryDriver();
    const h = await open(backend);
    await writeFile(h.vfs, ROOT_INO, 'config', 'old');
    await h.vfs.sync();
    await writeFile(h.vfs, ROOT_INO, 'config.tmp', 'new');
    await h.vfs.rename(ROOT_INO, 'config.tmp', ROOT_INO, 'config');
    await h.vfs.sync();
    expect(await objectKeys(backend)).toEqual(['config']);
    expect((await readObject(backend, 'config')).toString()).toBe('new');
  });

  it('a file unlinked while its upload is pending never lands; its journal row goes', async () => {
    const backend = new MemoryDriver();
    const h = await open(backend);
    await writeFile(h.vfs, ROOT_INO, 'scratch', 'temporary');
    expect(h.vfs.status().pending.uploads).toBe(1);
    await h.vfs.unlink(ROOT_INO, 'scratch');
    expect(h.vfs.status().pending).toEqual({ operations: 0, uploads: 0, bytes: 0 });
    await h.vfs.sync();
    expect(await objectKeys(backend)).toEqual([]);
    expect(h.counts.calls.get('write') ?? 0).toBe(0);
  });

  for (const mode of ['pending', 'running'] as const) {
    it(`rename of a directory while uploads below it are ${mode}: every object ends under the new name, nothing under the old`, async () => {
      // Running: no delay, one upload at a time on a slow backend, so some run and the rest wait at the rename.
      const backend = new MemoryDriver(mode === 'running' ? { latencyMs: 150 } : {});
      const h = await open(backend, mode === 'running' ? { writeBack: { delay: 0, concurrency: 1 } } : {});
      const src = await h.vfs.mkdir(ROOT_INO, 'src', 0o755, ROOT);
      const sub = await h.vfs.mkdir(src.ino, 'sub', 0o755, ROOT);
      const expected = new Map<string, string>();
      for (let i = 0; i < 6; i++) {
        const [parent, prefix] = i % 2 === 0 ? [src, ''] : [sub, 'sub/'];
        const content = `file ${i} `.repeat(1 + i * 2000); // up to ~110 KB: two blocks
        await writeFile(h.vfs, parent.ino, `f${i}`, content);
        expected.set(`${prefix}f${i}`, content);
      }
      if (mode === 'running') await eventually(async () => expect(h.vfs.status().inFlight.length).toBe(1));
      await h.vfs.rename(ROOT_INO, 'src', ROOT_INO, 'dst');
      await h.vfs.sync();
      const files = [...expected.keys()].map((rel) => `dst/${rel}`);
      expect(await objectKeys(backend)).toEqual(['dst/', 'dst/sub/', ...files].sort());
      for (const [rel, content] of expected) expect((await readObject(backend, `dst/${rel}`)).toString(), rel).toBe(content);
      expect(h.vfs.status().pending.operations).toBe(0);
    });
  }

  it('close({ abandon }) leaves the pending work journaled; the next open resumes it', async () => {
    const backend = new MemoryDriver();
    const h = await open(backend);
    const dir = await h.vfs.mkdir(ROOT_INO, 'kept', 0o755, ROOT);
    await h.vfs.sync();
    await writeFile(h.vfs, dir.ino, 'a', 'journaled a');
    await writeFile(h.vfs, ROOT_INO, 'b', 'journaled b');
    await h.vfs.rename(ROOT_INO, 'b', dir.ino, 'b');
    await h.vfs.close({ abandon: true });
    expect(await objectKeys(backend)).toEqual(['kept/']);
    const next = await open(backend, { cacheDir: h.cacheDir });
    await next.vfs.sync();
    expect(await objectKeys(backend)).toEqual(['kept/', 'kept/a', 'kept/b']);
    expect((await readObject(backend, 'kept/b')).toString()).toBe('journaled b');
    harnesses.splice(harnesses.indexOf(h), 1); // `next` owns the cache folder now
  });

  // A listing never reconciles a directory while our own journaled operations on it are pending.
  it('rmdir of a directory that a pending rename moved a file into is ENOTEMPTY and loses nothing', async () => {
    const backend = new MemoryDriver();
    const h = await open(backend, { refreshTtl: 0, writeBack: { maxRetryDelay: 0.05 } });
    const dir = await h.vfs.mkdir(ROOT_INO, 'd', 0o755, ROOT);
    const sub = await h.vfs.mkdir(dir.ino, 'sub', 0o755, ROOT);
    const file = await writeFile(h.vfs, ROOT_INO, 'f', 'precious');
    await h.vfs.sync();
    const fault = backend.failures.inject({ op: 'move', code: 'EIO' }); // the backend move keeps failing for now
    try {
      await h.vfs.rename(ROOT_INO, 'f', sub.ino, 'g');
      expect(await codeOf(h.vfs.rmdir(dir.ino, 'sub'))).toBe('ENOTEMPTY');
    } finally {
      fault.remove();
    }
    await h.vfs.sync();
    expect((await readFile(h.vfs, file.ino)).toString()).toBe('precious');
    expect((await readObject(backend, 'd/sub/g')).toString()).toBe('precious');
  });
});

describe('write-back: backend failures are retried and shown (memory backend)', () => {
  const harnesses: Harness[] = [];
  afterEach(async () => {
    await Promise.all(harnesses.splice(0).map((h) => h.close()));
  });

  it('the first 3 writes fail with EIO: the upload is retried, status shows attempts and code while failing, then clears', async () => {
    const backend = new MemoryDriver();
    // Retries after min(1 s * 2^n, 0.5 s): slow enough to be seen failing, quick enough for a test.
    const h = await openHarness(backend, { writeBack: { delay: 0, maxRetryDelay: 0.5 } });
    harnesses.push(h);
    const fault = backend.failures.inject({ op: 'write', code: 'EIO', times: 3 });
    await writeFile(h.vfs, ROOT_INO, 'flaky', 'arrives in the end');
    const seen = new Set<number>();
    await eventually(async () => {
      const [failing] = h.vfs.status().failing;
      if (failing) seen.add(failing.attempts);
      expect(failing).toMatchObject({ kind: 'upload', path: 'flaky', code: 'EIO' });
      expect(failing!.attempts).toBeGreaterThanOrEqual(2);
    });
    await eventually(async () => expect((await readObject(backend, 'flaky')).toString()).toBe('arrives in the end'));
    await eventually(async () => expect(h.vfs.status()).toMatchObject({ failing: [], pending: { operations: 0 } }));
    expect(fault.fired).toBe(3);
    expect(h.vfs.status().totals).toMatchObject({ retries: 3, uploads: 1 });
    expect(h.counts.calls.get('write')).toBe(4);
    expect(Math.max(...seen)).toBeLessThanOrEqual(3);
    expect(await names(h.vfs, ROOT_INO)).toEqual(['flaky']);
    expect((await resolve(h.vfs, 'flaky')).size).toBe(18);
  });

  it('sync() fails while an operation is refused for good, and a later sync() tries it again', async () => {
    const backend = new MemoryDriver();
    const h = await openHarness(backend, { writeBack: { maxRetryDelay: 0.05 } });
    harnesses.push(h);
    const fault = backend.failures.inject({ op: 'createDirectory', code: 'EACCES', times: 6 });
    await h.vfs.mkdir(ROOT_INO, 'denied-for-a-while', 0o755, ROOT);
    // EACCES is given up after 3 attempts: sync() says so instead of claiming the backend has everything.
    expect(await codeOf(h.vfs.sync())).toBe('EACCES');
    expect(h.vfs.status().pending.operations).toBe(1);
    expect(await codeOf(h.vfs.sync())).toBe('EACCES'); // attempts 4-6: still refused
    expect(fault.fired).toBe(6);
    await h.vfs.sync(); // the backend accepts it now
    expect(h.vfs.status().pending.operations).toBe(0);
    expect(await objectKeys(backend)).toEqual(['denied-for-a-while/']);
  });
});
