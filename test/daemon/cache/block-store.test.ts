import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm, unlink, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FileBlockStore, type BlockStoreOptions } from '../../../src/daemon/cache/block-store.js';
import { migrateCacheSchema } from '../../../src/daemon/cache/schema.js';
import { openDatabase, type Database } from '../../../src/daemon/db.js';

const BLOCK = 1024;

describe('FileBlockStore', () => {
  let dir: string;
  let db: Database;
  let clock: number;
  const stores: FileBlockStore[] = [];

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'storaged-blocks-'));
    db = openDatabase(join(dir, 'meta.db'));
    migrateCacheSchema(db);
    clock = 1_000;
  });

  afterEach(async () => {
    for (const store of stores.splice(0)) {
      store.close();
      await store.whenIdle();
    }
    db.close();
    await rm(dir, { recursive: true, force: true });
  });

  function openStore(options: Partial<BlockStoreOptions> = {}): FileBlockStore {
    const store = new FileBlockStore(db, dir, { blockSize: BLOCK, now: () => clock, ...options });
    stores.push(store);
    return store;
  }

  /** Every file below blocks/, as paths relative to it. */
  async function blockFiles(): Promise<string[]> {
    const entries = await readdir(join(dir, 'blocks'), { recursive: true, withFileTypes: true }).catch(() => []);
    return entries.filter((entry) => entry.isFile()).map((entry) => join(entry.parentPath, entry.name).slice(dir.length + 8));
  }

  function lastUsed(hash: string): number | undefined {
    return db.prepare<number>('SELECT last_used_ms FROM blocks WHERE hash = ?').pluck().get(hash);
  }

  /** Puts `count` distinct blocks of `size` bytes, one clock tick apart; returns their hashes in order. */
  async function putMany(store: FileBlockStore, count: number, size = BLOCK): Promise<string[]> {
    const hashes: string[] = [];
    for (let i = 0; i < count; i++) {
      clock += 1;
      hashes.push(await store.put(randomBytes(size)));
    }
    return hashes;
  }

  it('stores a block under blocks/<aa>/<sha256> and reads ranges of it', async () => {
    const store = openStore();
    const data = randomBytes(BLOCK);
    const hash = await store.put(data);
    expect(hash).toBe(createHash('sha256').update(data).digest('hex'));
    expect(await blockFiles()).toEqual([`${hash.slice(0, 2)}/${hash}`]);
    expect(store.has(hash)).toBe(true);
    expect(await store.read(hash, 0, BLOCK)).toEqual(data);
    expect(await store.read(hash, 100, 50)).toEqual(data.subarray(100, 150));
    expect(await store.read(hash, BLOCK - 10, 100)).toEqual(data.subarray(BLOCK - 10)); // short at its end
    expect((await store.read(hash, BLOCK + 5, 10)).length).toBe(0);
    expect(store.usage()).toEqual({ bytes: BLOCK, blocks: 1 });
  });

  it('stores identical content once', async () => {
    const store = openStore();
    const data = randomBytes(500);
    const first = await store.put(data);
    const second = await store.put(Buffer.from(data));
    expect(second).toBe(first);
    expect(await blockFiles()).toHaveLength(1);
    expect(store.usage()).toEqual({ bytes: 500, blocks: 1 });
  });

  it('concurrent puts of the same block write one file and leave no temporary files', async () => {
    const store = openStore();
    const data = randomBytes(BLOCK);
    const hashes = await Promise.all(Array.from({ length: 20 }, () => store.put(Buffer.from(data))));
    expect(new Set(hashes).size).toBe(1);
    expect(await blockFiles()).toEqual([`${hashes[0]!.slice(0, 2)}/${hashes[0]}`]);
    expect(store.usage()).toEqual({ bytes: BLOCK, blocks: 1 });
    expect(await store.read(hashes[0]!, 0, BLOCK)).toEqual(data);
  });

  it('two stores on the same folder racing on one block both succeed', async () => {
    const one = openStore();
    const two = openStore();
    const data = randomBytes(BLOCK);
    const [a, b] = await Promise.all([one.put(data), two.put(data)]);
    expect(a).toBe(b);
    expect(await blockFiles()).toHaveLength(1);
    expect(await two.read(a, 0, BLOCK)).toEqual(data);
  });

  it('rejects a block larger than the block size with EINVAL, and bad hashes', async () => {
    const store = openStore();
    await expect(store.put(Buffer.alloc(BLOCK + 1))).rejects.toMatchObject({ code: 'EINVAL' });
    expect(store.has('../../etc/passwd')).toBe(false);
    await expect(store.read('../x', 0, 1)).rejects.toMatchObject({ code: 'EINVAL' });
    const hash = await store.put(Buffer.from('x'));
    await expect(store.read(hash, -1, 1)).rejects.toMatchObject({ code: 'EINVAL' });
  });

  it('evicts least recently used first; a read counts as a use', async () => {
    const store = openStore();
    const [a, b, c, d] = await putMany(store, 4);
    clock += 1;
    await store.read(a!, 0, 1); // a is now the most recent
    const freed = await store.evict(2 * BLOCK);
    expect(freed).toBe(2 * BLOCK);
    expect([a, b, c, d].map((hash) => store.has(hash!))).toEqual([true, false, false, true]);
    expect(store.usage()).toEqual({ bytes: 2 * BLOCK, blocks: 2 });
    expect(await blockFiles()).toHaveLength(2);
    await store.evict(BLOCK);
    expect([a, d].map((hash) => store.has(hash!))).toEqual([true, false]);
  });

  it('a read of an evicted block fails ENOENT', async () => {
    const store = openStore();
    const [hash] = await putMany(store, 1);
    await store.evict(0);
    expect(store.has(hash!)).toBe(false);
    await expect(store.read(hash!, 0, 10)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('a block whose file vanished is dropped by the read that finds it missing', async () => {
    const store = openStore();
    const [gone, kept] = await putMany(store, 2);
    await unlink(join(dir, 'blocks', gone!.slice(0, 2), gone!));
    expect(store.has(gone!)).toBe(true);
    await expect(store.read(gone!, 0, 1)).rejects.toMatchObject({ code: 'ENOENT' });
    expect(store.has(gone!)).toBe(false);
    expect(store.usage()).toEqual({ bytes: BLOCK, blocks: 1 });
    expect(store.has(kept!)).toBe(true);
  });

  it('eviction copes with files already gone', async () => {
    const store = openStore();
    const hashes = await putMany(store, 3);
    await unlink(join(dir, 'blocks', hashes[0]!.slice(0, 2), hashes[0]!));
    expect(await store.evict(0)).toBe(3 * BLOCK);
    expect(store.usage()).toEqual({ bytes: 0, blocks: 0 });
    expect(await blockFiles()).toEqual([]);
  });

  it('keeps usage under maxBytes: puts start a background eviction down to 90%', async () => {
    const store = openStore({ maxBytes: 10 * BLOCK });
    const hashes = await putMany(store, 25);
    await store.whenIdle();
    const { bytes, blocks } = store.usage();
    expect(bytes).toBeLessThanOrEqual(10 * BLOCK);
    expect(blocks).toBe(await blockFiles().then((files) => files.length));
    // The newest blocks survive, the oldest went first.
    expect(store.has(hashes[24]!)).toBe(true);
    expect(store.has(hashes[0]!)).toBe(false);
    expect(store.lastBackgroundError).toBeUndefined();
  });

  it('batches touches: the table changes on flush, not per read', async () => {
    const store = openStore({ touchIntervalMs: 60_000 });
    const [hash] = await putMany(store, 1);
    const before = lastUsed(hash!);
    clock += 500;
    await store.read(hash!, 0, 1);
    store.touch(hash!);
    expect(lastUsed(hash!)).toBe(before);
    store.flushTouches();
    expect(lastUsed(hash!)).toBe(clock);
  });

  it('flushes touches on its own after the interval, and on close', async () => {
    const store = openStore({ touchIntervalMs: 30 });
    const [hash] = await putMany(store, 1);
    clock += 7;
    store.touch(hash!);
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(lastUsed(hash!)).toBe(clock);
    const other = openStore({ touchIntervalMs: 60_000 });
    clock += 7;
    other.touch(hash!);
    other.close();
    expect(lastUsed(hash!)).toBe(clock);
  });

  it('a reopened store counts what the table holds', async () => {
    const store = openStore();
    await putMany(store, 3, 100);
    store.close();
    expect(openStore().usage()).toEqual({ bytes: 300, blocks: 3 });
  });

  it('sweep removes temporary files, orphan files and rows without files', async () => {
    const store = openStore();
    const [kept, lost] = await putMany(store, 2);
    const orphan = createHash('sha256').update('orphan').digest('hex');
    await mkdir(join(dir, 'blocks', orphan.slice(0, 2)), { recursive: true });
    await writeFile(join(dir, 'blocks', orphan.slice(0, 2), orphan), 'orphan');
    await writeFile(join(dir, 'blocks', kept!.slice(0, 2), `.${kept}.1.1.tmp`), 'partial');
    await unlink(join(dir, 'blocks', lost!.slice(0, 2), lost!));
    await store.sweep();
    expect(await blockFiles()).toEqual([`${kept!.slice(0, 2)}/${kept}`]);
    expect(store.has(lost!)).toBe(false);
    expect(store.usage()).toEqual({ bytes: BLOCK, blocks: 1 });
  });

  it('a closed store refuses puts with EIO', async () => {
    const store = openStore();
    store.close();
    await expect(store.put(Buffer.from('late'))).rejects.toMatchObject({ code: 'EIO' });
  });
});
