import { execFileSync } from 'node:child_process';
import { constants } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/core/config/loader.js';
import { createLogger } from '../../src/core/logger.js';
import { createDiskVfs } from '../../src/daemon/index.js';
import { ROOT_INO, type Vfs } from '../../src/daemon/vfs/types.js';
import { MemoryDriver } from '../../src/drivers/memory/driver.js';

/**
 * Issue 4: "Cache disk full of dirty data: ENOSPC to the writer, nothing
 * lost". Dirty data (written, not uploaded) is never evicted, so once it
 * fills the cache — the configured max_size, or the cache disk itself —
 * writes fail with ENOSPC, while everything already written stays readable
 * and reaches the backend when it is back.
 */

const ROOT = { uid: 0, gid: 0, pid: 1 };
const RDWR = { flags: constants.O_RDWR };
const KIB = 1024;

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

async function openVfs(backend: MemoryDriver, cacheDir: string, maxSize: string): Promise<Vfs> {
  const config = parseConfig(
    `cache: { dir: ${cacheDir}, max_size: ${maxSize} }\nwrite_back: { delay: 0, max_retry_delay: 0.2 }\ndisks:\n  disk: { driver: memory }\n`,
    join(cacheDir, 'config.yaml'),
    cacheDir,
    {},
  );
  const vfs = await createDiskVfs({ diskName: 'disk', driver: backend, config, logger: createLogger('cache-full-test', 'silent'), uid: 0, gid: 0 });
  cleanups.push(() => vfs.close({ abandon: true }).catch(() => undefined));
  return vfs;
}

function content(index: number, size: number): Buffer {
  const data = Buffer.alloc(size);
  for (let i = 0; i < size; i++) data[i] = (index * 31 + i * 7) & 0xff;
  return data;
}

/** Writes `data` to a new file in chunks of 64 KiB; resolves to the error code of the first failing call, or undefined. */
async function tryWriteFile(vfs: Vfs, name: string, data: Buffer): Promise<string | undefined> {
  let fh: number;
  try {
    fh = (await vfs.create(ROOT_INO, name, 0o644, RDWR, ROOT)).fh;
  } catch (err) {
    return (err as { code?: string }).code ?? 'no code';
  }
  try {
    for (let at = 0; at < data.length; at += 64 * KIB) await vfs.write(fh, at, data.subarray(at, at + 64 * KIB));
    await vfs.flush(fh);
    return undefined;
  } catch (err) {
    return (err as { code?: string }).code ?? 'no code';
  } finally {
    await vfs.release(fh).catch(() => undefined);
  }
}

async function readAll(vfs: Vfs, name: string): Promise<Buffer> {
  const attr = await vfs.lookup(ROOT_INO, name);
  const fh = await vfs.open(attr.ino, { flags: constants.O_RDONLY }, ROOT);
  try {
    return await vfs.read(fh, 0, attr.size + 1);
  } finally {
    await vfs.release(fh);
  }
}

async function backendBytes(backend: MemoryDriver, key: string): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of await backend.read(key)) parts.push(Buffer.from(chunk as Uint8Array));
  return Buffer.concat(parts);
}

describe('a cache full of dirty data', () => {
  it('refuses writes past max_size with ENOSPC, keeps what was written, and takes writes again once it is uploaded', async () => {
    const cacheDir = await mkdtemp(join(tmpdir(), 'storaged-cache-full-'));
    cleanups.push(() => rm(cacheDir, { recursive: true, force: true }));
    const backend = new MemoryDriver();
    const vfs = await openVfs(backend, cacheDir, '1MiB');
    await vfs.readdir(ROOT_INO); // listed once; then the backend goes down and nothing uploads
    const outage = backend.failures.inject({ op: '*', code: 'ECONNREFUSED' });

    const files = [0, 1, 2, 3].map((i) => ({ name: `f${i}`, data: content(i, 256 * KIB) }));
    for (const file of files) expect(await tryWriteFile(vfs, file.name, file.data)).toBeUndefined();
    expect(vfs.status().cache.dirtyBytes).toBe(1024 * KIB);

    // The cache is full of data the backend does not have: the next write is refused, an overwrite in place is not.
    expect(await tryWriteFile(vfs, 'one-too-many', content(9, 64 * KIB))).toBe('ENOSPC');
    const rewrite = await vfs.open((await vfs.lookup(ROOT_INO, 'f0')).ino, RDWR, ROOT);
    await vfs.write(rewrite, 0, files[0]!.data.subarray(0, 4096));
    await vfs.release(rewrite);
    for (const file of files) expect((await readAll(vfs, file.name)).equals(file.data)).toBe(true);
    expect(vfs.status().failing.length).toBeGreaterThan(0);

    // The backend returns: everything drains, nothing was lost, and the cache takes new data again.
    backend.failures.clear();
    expect(outage.fired).toBeGreaterThan(0);
    await vfs.sync();
    for (const file of files) expect((await backendBytes(backend, file.name)).equals(file.data)).toBe(true);
    expect(vfs.status().cache.dirtyBytes).toBe(0);
    expect(await tryWriteFile(vfs, 'after', content(10, 512 * KIB))).toBeUndefined();
    await vfs.sync();
    expect((await backendBytes(backend, 'after')).equals(content(10, 512 * KIB))).toBe(true);
  }, 60_000);

  it('evicts clean blocks to make room for dirty data: one limit for both', async () => {
    const cacheDir = await mkdtemp(join(tmpdir(), 'storaged-cache-share-'));
    cleanups.push(() => rm(cacheDir, { recursive: true, force: true }));
    const backend = new MemoryDriver();
    const vfs = await openVfs(backend, cacheDir, '1MiB');
    for (let i = 0; i < 4; i++) expect(await tryWriteFile(vfs, `clean${i}`, content(20 + i, 256 * KIB))).toBeUndefined();
    await vfs.sync(); // uploaded: their data is now clean blocks in the cache
    expect(vfs.status().cache).toMatchObject({ bytes: 1024 * KIB, dirtyBytes: 0 });
    backend.failures.inject({ op: '*', code: 'ECONNREFUSED' });
    for (let i = 0; i < 3; i++) expect(await tryWriteFile(vfs, `dirty${i}`, content(30 + i, 256 * KIB))).toBeUndefined();
    for (let waited = 0; vfs.status().cache.bytes + vfs.status().cache.dirtyBytes > 1024 * KIB && waited < 5000; waited += 50) {
      await new Promise((r) => setTimeout(r, 50));
    }
    const { bytes, dirtyBytes } = vfs.status().cache;
    expect(dirtyBytes).toBe(768 * KIB);
    expect(bytes + dirtyBytes).toBeLessThanOrEqual(1024 * KIB);
    backend.failures.clear();
    for (let i = 0; i < 4; i++) expect((await readAll(vfs, `clean${i}`)).equals(content(20 + i, 256 * KIB))).toBe(true); // evicted ones come back from the backend
  }, 60_000);

  it.runIf(process.getuid?.() === 0)('gives ENOSPC when the cache disk itself is full, and loses nothing already closed', async () => {
    const base = await mkdtemp(join(tmpdir(), 'storaged-cache-tmpfs-'));
    const cacheDir = join(base, 'cache');
    await mkdir(cacheDir);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=48m', 'tmpfs', cacheDir]);
    cleanups.push(async () => {
      execFileSync('umount', ['-l', cacheDir]);
      await rm(base, { recursive: true, force: true });
    });
    const backend = new MemoryDriver();
    const vfs = await openVfs(backend, cacheDir, '1GiB'); // the limit is far away: the disk fills first
    await vfs.readdir(ROOT_INO);
    backend.failures.inject({ op: '*', code: 'ECONNREFUSED' });

    const written: Array<{ name: string; data: Buffer }> = [];
    let failure: string | undefined;
    for (let i = 0; i < 400 && failure === undefined; i++) {
      const file = { name: `g${i}`, data: content(i, 256 * KIB) };
      failure = await tryWriteFile(vfs, file.name, file.data);
      if (failure === undefined) written.push(file);
    }
    expect(failure).toBe('ENOSPC');
    expect(written.length).toBeGreaterThan(4);
    for (const file of written) expect((await readAll(vfs, file.name)).equals(file.data)).toBe(true);

    backend.failures.clear();
    await vfs.sync();
    for (const file of written) {
      const stored = await backendBytes(backend, file.name);
      expect({ name: file.name, size: stored.length, same: stored.equals(file.data) }).toEqual({ name: file.name, size: file.data.length, same: true });
    }
  }, 60_000);
});
