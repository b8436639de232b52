import { readdir, readFile, rm, stat as fileStat, writeFile, mkdtemp, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryDriver, MemoryTree } from '../../src/drivers/memory/index.js';
import type { StorageDriver } from '../../src/drivers/types.js';
import {
  createCachedDriver,
  createFolderCacheStore,
  createMemoryCacheStore,
  createRedisCacheStore,
  type CacheStore,
} from '../../src/storage/decorators/cached/index.js';
import { describeConformance } from '../conformance/index.js';
import { describeEntries, expectCode, expectSyncCode, readBytes, readText, seededBytes, sleep, writeText } from '../conformance/support.js';
import { freePort } from '../support/process.js';
import { startRedis, type RedisServer } from '../support/servers/redis.js';
import { startTcpProxy } from '../support/tcp-proxy.js';
import { cachedOnLocal, cachedOnMemory, cachedOnS3, callsTo, countingDriver, type CallCounts } from './support/cached-fixtures.js';

describeConformance(cachedOnMemory());
describeConformance(cachedOnLocal());
describeConformance(cachedOnS3());

const LONG_TTL = 60_000;
const memoryStore = () => createMemoryCacheStore({ maxBytes: 16 * 2 ** 20 });

/** A cached driver over a counted memory driver; `backend` writes around the cache (as another program would). */
function cachedMemory(options: { ttlMs?: number; maxContentBytes?: number; store?: CacheStore; tree?: MemoryTree } = {}) {
  const backend = new MemoryDriver({ tree: options.tree });
  const { driver: counted, calls } = countingDriver(backend);
  const cached = createCachedDriver(counted, {
    store: options.store ?? memoryStore(),
    ttlMs: options.ttlMs ?? LONG_TTL,
    ...(options.maxContentBytes !== undefined ? { maxContentBytes: options.maxContentBytes } : {}),
  });
  return { cached, backend, calls };
}

/** Runs `action` and answers how many inner calls it made. */
async function innerCallsOf(calls: CallCounts, action: () => Promise<unknown>): Promise<number> {
  const before = callsTo(calls);
  await action();
  return callsTo(calls) - before;
}

const shallow = async (driver: StorageDriver, dir: string) => describeEntries((await driver.list(dir, { recursive: false })).entries);

/** What a driver answers for stat (or its error code) and shallow listings of the paths the invalidation cases touch. */
async function answers(driver: StorageDriver): Promise<unknown[]> {
  const paths = ['d', 'd/a.txt', 'd/sub', 'd/sub/deep', 'd/sub/deep/b.txt', 'e', 'e/c.txt', 'd/empty'];
  const stats = await Promise.all(paths.map((path) => driver.stat(path).then((found) => ({ ...found }), (err: { code?: string }) => err.code)));
  const listings = await Promise.all(['', 'd', 'd/sub', 'd/sub/deep', 'e'].map((dir) => shallow(driver, dir)));
  return [...stats, ...listings];
}

/** The cached driver answers exactly as its backend does right now. */
async function expectSameAnswers(cached: StorageDriver, backend: StorageDriver): Promise<void> {
  expect(await answers(cached)).toEqual(await answers(backend));
}

describe('cached driver: hits are served without the inner driver', () => {
  it('caches stat, ENOENT, shallow listings, checksum and visibility', async () => {
    const { cached, calls } = cachedMemory();
    await writeText(cached, 'docs/a.txt', 'alpha', { visibility: 'public' });
    const first = await cached.stat('docs/a.txt');
    await expectCode(cached.stat('docs/missing.txt'), 'ENOENT');
    const page = await shallow(cached, 'docs');
    const sum = await cached.checksum('docs/a.txt');
    expect(await cached.getVisibility('docs/a.txt')).toBe('public');
    const again = await innerCallsOf(calls, async () => {
      expect(await cached.stat('./docs//a.txt')).toEqual(first);
      expect((await expectCode(cached.stat('docs/missing.txt'), 'ENOENT')).path).toBe('docs/missing.txt');
      expect(await shallow(cached, 'docs/')).toEqual(page);
      expect(await cached.checksum('docs/a.txt')).toEqual(sum);
      expect(await cached.getVisibility('docs/a.txt')).toBe('public');
    });
    expect(again).toBe(0);
    expect(cached.counters.hits).toBe(5);
  });

  it('recursive listings always ask the inner driver', async () => {
    const { cached, calls } = cachedMemory();
    await writeText(cached, 'r/a/b.txt', 'b');
    await cached.list('r', { recursive: true });
    expect(await innerCallsOf(calls, () => cached.list('r', { recursive: true }))).toBe(1);
  });

  it('answers from the cache while the inner driver fails on every call', async () => {
    const { cached, backend } = cachedMemory();
    await writeText(cached, 'x/y.txt', 'cached bytes');
    await cached.stat('x/y.txt');
    await shallow(cached, 'x');
    expect(await readText(cached, 'x/y.txt')).toBe('cached bytes');
    backend.failures.inject({ op: '*', code: 'ECONNREFUSED' });
    expect((await cached.stat('x/y.txt')).size).toBe(12);
    expect(await shallow(cached, 'x')).toEqual(['file:x/y.txt']);
    expect(await readText(cached, 'x/y.txt')).toBe('cached bytes');
    await expectCode(cached.stat('x/other.txt'), 'ECONNREFUSED'); // a miss still surfaces the inner error
  });
});

describe('cached driver: content', () => {
  it('reads a small file whole once, then serves whole and ranged reads from the cache', async () => {
    const { cached, calls } = cachedMemory({ maxContentBytes: 64 * 1024 });
    const content = seededBytes(50_000, 7);
    await cached.write('small.bin', content);
    expect((await readBytes(cached, 'small.bin', { range: { offset: 10, length: 5 } })).equals(content.subarray(10, 15))).toBe(true);
    expect(calls.read).toBe(1);
    const ranges = [
      { offset: 0, length: 1 },
      { offset: 49_999, length: 1 },
      { offset: 1234, length: 30_000 },
      { offset: 40_000 },
      { offset: 49_990, length: 100 },
      { offset: 50_000, length: 10 },
      { offset: 90_000 },
    ];
    const reads = await innerCallsOf(calls, async () => {
      expect((await readBytes(cached, 'small.bin')).equals(content)).toBe(true);
      for (const range of ranges) {
        const end = range.length === undefined ? undefined : range.offset + range.length;
        expect((await readBytes(cached, 'small.bin', { range })).equals(content.subarray(range.offset, end)), JSON.stringify(range)).toBe(true);
      }
    });
    expect(reads).toBe(0);
  });

  it('streams files above maxContentBytes from the inner driver every time', async () => {
    const { cached, calls } = cachedMemory({ maxContentBytes: 1024 });
    const content = seededBytes(4096, 3);
    await cached.write('large.bin', content);
    for (let i = 0; i < 3; i++) expect((await readBytes(cached, 'large.bin', { range: { offset: 100 } })).equals(content.subarray(100))).toBe(true);
    expect(calls.read).toBe(3);
    expect(calls.stat).toBe(1); // the size decision itself is cached
  });

  it('an aborted signal and odd ranges go to the inner driver, which answers them its own way', async () => {
    const { cached, calls } = cachedMemory();
    await writeText(cached, 'f.txt', 'content');
    await readText(cached, 'f.txt');
    await expectCode(cached.read('f.txt', { signal: AbortSignal.abort() }), 'ECANCELED');
    await readBytes(cached, 'f.txt', { range: { offset: -5, length: 2 } });
    expect(calls.read).toBe(3);
  });
});

describe('cached driver: TTL', () => {
  it('serves an answer until its TTL runs out, then asks again (changes made around the cache show then)', async () => {
    const { cached, backend } = cachedMemory({ ttlMs: 400 });
    await writeText(cached, 't.txt', 'one');
    await expectCode(cached.stat('later.txt'), 'ENOENT');
    expect(await readText(cached, 't.txt')).toBe('one');
    await writeText(backend, 't.txt', 'two!');
    await writeText(backend, 'later.txt', 'now here');
    await sleep(200); // past the negative TTL (ttl / 4), within the TTL
    expect((await cached.stat('later.txt')).size).toBe(8);
    expect(await readText(cached, 't.txt')).toBe('one');
    expect((await cached.stat('t.txt')).size).toBe(3);
    await sleep(300);
    expect(await readText(cached, 't.txt')).toBe('two!');
    expect((await cached.stat('t.txt')).size).toBe(4);
  });
});

describe('cached driver: invalidation by changes through it', () => {
  /** Fills the cache with what the cases then change: stats (incl. ENOENT), listings, contents. */
  async function primed() {
    const setup = cachedMemory();
    const { cached } = setup;
    await writeText(cached, 'd/a.txt', 'a');
    await writeText(cached, 'd/sub/deep/b.txt', 'b');
    for (const path of ['d/a.txt', 'd/sub/deep/b.txt', 'd', 'd/sub', 'e/c.txt', 'e']) await cached.stat(path).catch(() => undefined);
    for (const dir of ['', 'd', 'd/sub', 'd/sub/deep', 'e']) await shallow(cached, dir);
    await readText(cached, 'd/a.txt');
    await readText(cached, 'd/sub/deep/b.txt');
    return setup;
  }

  it('write: new content, size, listings of every ancestor, implied folders', async () => {
    const { cached, backend } = await primed();
    await writeText(cached, 'd/a.txt', 'changed');
    await writeText(cached, 'e/c.txt', 'new');
    expect(await readText(cached, 'd/a.txt')).toBe('changed');
    expect((await cached.stat('d/a.txt')).size).toBe(7);
    expect((await cached.stat('e')).type).toBe('directory');
    expect(await shallow(cached, 'e')).toEqual(['file:e/c.txt']);
    expect(await shallow(cached, '')).toEqual(['directory:d', 'directory:e']);
    await expectSameAnswers(cached, backend);
  });

  it('delete: the file is gone, and its folders answer as the backend says', async () => {
    const { cached, backend } = await primed();
    await cached.delete('d/sub/deep/b.txt');
    await expectCode(cached.stat('d/sub/deep/b.txt'), 'ENOENT');
    await expectCode(cached.read('d/sub/deep/b.txt'), 'ENOENT');
    expect(await shallow(cached, 'd/sub/deep')).toEqual([]);
    await expectSameAnswers(cached, backend);
  });

  it('move: no source, the target with the source content, both folders listed anew', async () => {
    const { cached, backend } = await primed();
    await cached.move('d/a.txt', 'e/c.txt');
    await expectCode(cached.stat('d/a.txt'), 'ENOENT');
    await expectCode(cached.read('d/a.txt'), 'ENOENT');
    expect(await readText(cached, 'e/c.txt')).toBe('a');
    expect(await shallow(cached, 'd')).toEqual(['directory:d/sub']);
    expect(await shallow(cached, 'e')).toEqual(['file:e/c.txt']);
    await expectSameAnswers(cached, backend);
  });

  it('deleteDirectory: nothing below it is served any more, at any depth', async () => {
    const { cached, backend } = await primed();
    await cached.deleteDirectory('d');
    for (const path of ['d', 'd/a.txt', 'd/sub', 'd/sub/deep/b.txt']) await expectCode(cached.stat(path), 'ENOENT');
    await expectCode(cached.read('d/sub/deep/b.txt'), 'ENOENT');
    for (const dir of ['d', 'd/sub', 'd/sub/deep', '']) expect(await shallow(cached, dir)).toEqual([]);
    await expectSameAnswers(cached, backend);
  });

  it('copy, createDirectory and setVisibility', async () => {
    const { cached, backend } = await primed();
    await cached.copy('d/a.txt', 'e/c.txt');
    expect(await readText(cached, 'e/c.txt')).toBe('a');
    await cached.getVisibility('d/a.txt');
    await cached.setVisibility('d/a.txt', 'public');
    expect(await cached.getVisibility('d/a.txt')).toBe('public');
    await expectCode(cached.stat('d/empty'), 'ENOENT');
    await cached.createDirectory('d/empty');
    expect((await cached.stat('d/empty')).type).toBe('directory');
    expect(await shallow(cached, 'd')).toContain('directory:d/empty');
    await expectSameAnswers(cached, backend);
  });

  it('a failed change invalidates too (it may have changed something)', async () => {
    const { cached, backend } = await primed();
    backend.failures.inject({ op: 'write', code: 'EIO', afterBytes: 0, times: 1 });
    await expectCode(cached.write('d/a.txt', Buffer.from('never')), 'EIO');
    expect(await readText(cached, 'd/a.txt')).toBe('a');
  });

  it('a lookup racing a write never leaves the old answer behind it', async () => {
    const tree = new MemoryTree();
    const backend = new MemoryDriver({ tree });
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    // The inner stat answers at once, but its answer reaches the cache only after the write below finished.
    const slow = new Proxy(backend, {
      get(target, property, receiver) {
        if (property === 'stat') return async (path: string) => Promise.all([target.stat(path), gate]).then(([answer]) => answer);
        return Reflect.get(target, property, receiver) as unknown;
      },
    });
    const cached = createCachedDriver(slow, { store: memoryStore(), ttlMs: LONG_TTL });
    await writeText(backend, 'race.txt', 'old');
    const racing = cached.stat('race.txt');
    await sleep(20);
    await writeText(cached, 'race.txt', 'newer');
    release();
    expect((await racing).size).toBe(3); // answered before the write finished: fine
    expect((await cached.stat('race.txt')).size).toBe(5);
  });

  it('an answer filled while a write is still running is not served once the write finished', async () => {
    const backend = new MemoryDriver();
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    // The inner write waits for the gate before it stores anything.
    const slowWrite = new Proxy(backend, {
      get(target, property, receiver) {
        if (property === 'write') return async (...args: Parameters<StorageDriver['write']>) => gate.then(() => target.write(...args));
        return Reflect.get(target, property, receiver) as unknown;
      },
    });
    const cached = createCachedDriver(slowWrite, { store: memoryStore(), ttlMs: LONG_TTL });
    await writeText(backend, 'slow.txt', 'old');
    const writing = writeText(cached, 'slow.txt', 'newer');
    await sleep(20);
    expect((await cached.stat('slow.txt')).size).toBe(3); // the write has not happened yet
    expect(await readText(cached, 'slow.txt')).toBe('old');
    release();
    await writing;
    expect((await cached.stat('slow.txt')).size).toBe(5);
    expect(await readText(cached, 'slow.txt')).toBe('newer');
  });
});

describe('cached driver: options', () => {
  it('names itself after the inner driver and keeps its capabilities', () => {
    const inner = new MemoryDriver();
    const cached = createCachedDriver(inner, { store: memoryStore(), ttlMs: 1000 });
    expect(cached.name).toBe('cached(memory)');
    expect(cached.capabilities).toEqual(inner.capabilities);
  });

  it('rejects a TTL that is not positive and a negative content bound with EINVAL', () => {
    for (const ttlMs of [0, -1, Number.NaN]) expectSyncCode(() => createCachedDriver(new MemoryDriver(), { store: memoryStore(), ttlMs }), 'EINVAL');
    expectSyncCode(() => createCachedDriver(new MemoryDriver(), { store: memoryStore(), ttlMs: 1, maxContentBytes: -1 }), 'EINVAL');
    expectSyncCode(() => createMemoryCacheStore({ maxBytes: 0 }), 'EINVAL');
    expectSyncCode(() => createRedisCacheStore({ url: 'http://127.0.0.1:1' }), 'EINVAL');
  });

  it('checks paths before any I/O: a bad path is EINVAL even when every backend call fails', async () => {
    const { cached, backend } = cachedMemory();
    backend.failures.inject({ op: '*', code: 'EIO' });
    await expectCode(cached.stat('../x'), 'EINVAL');
    await expectCode(cached.write('/abs', Buffer.from('x')), 'EINVAL');
    await expectCode(cached.list('a/../..', { recursive: false }), 'EINVAL');
  });
});

describe('memory cache store', () => {
  it('keeps within maxBytes, dropping the least recently used entry first', async () => {
    const store = createMemoryCacheStore({ maxBytes: 3 * (1000 + 96 + 2) + 50 });
    for (const key of ['a', 'b', 'c']) await store.set(key, Buffer.alloc(1000, key), LONG_TTL);
    await store.get('a');
    await store.set('d', Buffer.alloc(1000, 'd'), LONG_TTL);
    expect(await store.get('b')).toBeUndefined();
    for (const key of ['a', 'c', 'd']) expect((await store.get(key))?.[0]).toBe(key.charCodeAt(0));
    expect(store.usedBytes).toBeLessThanOrEqual(3 * (1000 + 96 + 2) + 50);
    await store.set('a', Buffer.alloc(10_000), LONG_TTL); // bigger than the bound: not kept, and the old value goes
    expect(await store.get('a')).toBeUndefined();
  });

  it('expires entries after their TTL', async () => {
    const store = createMemoryCacheStore({ maxBytes: 10_000 });
    await store.set('k', Buffer.from('v'), 50);
    expect((await store.get('k'))?.toString()).toBe('v');
    await sleep(80);
    expect(await store.get('k')).toBeUndefined();
  });
});

describe('folder cache store', () => {
  let work = '';
  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'storaged-cached-store-'));
  });
  afterAll(async () => {
    await rm(work, { recursive: true, force: true });
  });
  let folders = 0;
  const freshDir = () => join(work, `store-${++folders}`);

  async function entryFiles(dir: string): Promise<string[]> {
    const files: string[] = [];
    for (const shard of await readdir(dir)) for (const file of await readdir(join(dir, shard))) files.push(join(dir, shard, file));
    return files;
  }

  it('survives a restart: a new driver on the same folder answers from it without the inner driver', async () => {
    const dir = freshDir();
    const tree = new MemoryTree();
    const first = cachedMemory({ tree, store: createFolderCacheStore({ dir, maxBytes: 2 ** 20 }) });
    await writeText(first.cached, 'kept/a.txt', 'kept bytes');
    await first.cached.stat('kept/a.txt');
    expect(await readText(first.cached, 'kept/a.txt')).toBe('kept bytes');
    await first.cached.close();
    const second = cachedMemory({ tree, store: createFolderCacheStore({ dir, maxBytes: 2 ** 20 }) });
    const calls = await innerCallsOf(second.calls, async () => {
      expect((await second.cached.stat('kept/a.txt')).size).toBe(10);
      expect(await readText(second.cached, 'kept/a.txt')).toBe('kept bytes');
    });
    expect(calls).toBe(0);
  });

  it('a corrupt or truncated entry is a miss (and is removed); the driver answers from the inner one', async () => {
    const dir = freshDir();
    const store = createFolderCacheStore({ dir, maxBytes: 2 ** 20 });
    await store.set('one', Buffer.from('first value'), LONG_TTL);
    await store.set('two', Buffer.from('second value'), LONG_TTL);
    const files = await entryFiles(dir);
    expect(files).toHaveLength(2);
    const [fileOne = '', fileTwo = ''] = files;
    const bytes = await readFile(fileOne);
    bytes.writeUInt8(bytes.readUInt8(bytes.length - 1) ^ 0xff, bytes.length - 1); // one flipped byte in the value
    await writeFile(fileOne, bytes);
    await writeFile(fileTwo, (await readFile(fileTwo)).subarray(0, 20)); // truncated
    expect(await store.get('one')).toBeUndefined();
    expect(await store.get('two')).toBeUndefined();
    expect(await entryFiles(dir)).toEqual([]);

    const { cached, backend } = cachedMemory({ store: createFolderCacheStore({ dir, maxBytes: 2 ** 20 }) });
    await writeText(cached, 'c.txt', 'cached');
    expect(await readText(cached, 'c.txt')).toBe('cached');
    for (const file of await entryFiles(dir)) await writeFile(file, 'garbage');
    await writeText(backend, 'c.txt', 'changed around the cache');
    expect(await readText(cached, 'c.txt')).toBe('changed around the cache');
  });

  it('stays under maxBytes by deleting the least recently used entries; writes leave no temporary files', async () => {
    const dir = freshDir();
    const store = createFolderCacheStore({ dir, maxBytes: 10_000 });
    for (let i = 0; i < 20; i++) await store.set(`k${i}`, Buffer.alloc(1000, i), LONG_TTL);
    await sleep(50); // evictions run behind the writes
    const files = await entryFiles(dir);
    const total = (await Promise.all(files.map((file) => fileStat(file)))).reduce((sum, info) => sum + info.size, 0);
    expect(total).toBeLessThanOrEqual(10_000);
    expect(files.some((file) => file.endsWith('.tmp'))).toBe(false);
    expect(await store.get('k0')).toBeUndefined();
    expect((await store.get('k19'))?.[0]).toBe(19);
  });

  it('expires entries, and a restart removes leftover temporary files', async () => {
    const dir = freshDir();
    const store = createFolderCacheStore({ dir, maxBytes: 10_000 });
    await store.set('short', Buffer.from('v'), 50);
    await sleep(80);
    expect(await store.get('short')).toBeUndefined();
    await mkdir(join(dir, 'ab'), { recursive: true });
    await writeFile(join(dir, 'ab', `${'ab'.padEnd(64, '0')}.123.dead.tmp`), 'half written');
    await createFolderCacheStore({ dir, maxBytes: 10_000 }).get('anything');
    expect(await entryFiles(dir)).toEqual([]);
  });
});

describe('cached driver on a real redis-server', () => {
  let redis: RedisServer;
  const stores: CacheStore[] = [];
  const redisStore = (url: string, keyPrefix: string) => {
    const store = createRedisCacheStore({ url, keyPrefix, timeoutMs: 500, retryDelayMs: 200 });
    stores.push(store);
    return store;
  };
  let prefixes = 0;
  const freshPrefix = () => `test:${process.pid}:${++prefixes}:`;

  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    try {
      await Promise.allSettled(stores.map((store) => store.close()));
    } finally {
      await redis?.stop();
    }
  });

  it('stores raw bytes with a TTL, under its key prefix only', async () => {
    const prefix = freshPrefix();
    const store = redisStore(redis.url, prefix);
    const other = redisStore(redis.url, freshPrefix());
    const binary = Buffer.from([0, 255, 128, 10, 13, 0]);
    await store.set('bin', binary, LONG_TTL);
    await store.set('empty', Buffer.alloc(0), LONG_TTL);
    await store.set('short', Buffer.from('x'), 100);
    expect((await store.get('bin'))?.equals(binary)).toBe(true);
    expect((await store.get('empty'))?.length).toBe(0);
    expect(await other.get('bin')).toBeUndefined();
    await store.delete('bin');
    expect(await store.get('bin')).toBeUndefined();
    await sleep(150);
    expect(await store.get('short')).toBeUndefined();
  });

  it('two drivers sharing one redis see each other’s changes at once', async () => {
    const tree = new MemoryTree();
    const prefix = freshPrefix();
    const one = cachedMemory({ tree, store: redisStore(redis.url, prefix) });
    const two = cachedMemory({ tree, store: redisStore(redis.url, prefix) });
    await writeText(two.cached, 'shared/a.txt', 'from two');
    expect(await readText(one.cached, 'shared/a.txt')).toBe('from two');
    expect(await shallow(one.cached, 'shared')).toEqual(['file:shared/a.txt']);
    await expectCode(one.cached.stat('shared/b.txt'), 'ENOENT');
    // A hit for `one` now needs no inner call...
    expect(await innerCallsOf(one.calls, () => readText(one.cached, 'shared/a.txt'))).toBe(0);
    // ...and `two`'s filled answers are `one`'s hits too (one store).
    expect(await innerCallsOf(two.calls, () => two.cached.stat('shared/b.txt').catch(() => undefined))).toBe(0);

    await writeText(two.cached, 'shared/a.txt', 'rewritten by two');
    await writeText(two.cached, 'shared/b.txt', 'b');
    expect(await readText(one.cached, 'shared/a.txt')).toBe('rewritten by two');
    expect((await one.cached.stat('shared/b.txt')).size).toBe(1);
    await two.cached.move('shared/a.txt', 'moved/a.txt');
    await expectCode(one.cached.read('shared/a.txt'), 'ENOENT');
    expect(await shallow(one.cached, 'shared')).toEqual(['file:shared/b.txt']);
    await two.cached.deleteDirectory('shared');
    await expectCode(one.cached.stat('shared/b.txt'), 'ENOENT');
    expect(await shallow(one.cached, '')).toEqual(['directory:moved']);
  });

  it('redis stopped mid-test: every answer stays right (the inner driver answers), and caching resumes after', async () => {
    const tree = new MemoryTree();
    const prefix = freshPrefix();
    const { cached, calls } = cachedMemory({ tree, store: redisStore(redis.url, prefix) });
    await writeText(cached, 'r/a.txt', 'before');
    expect(await readText(cached, 'r/a.txt')).toBe('before');
    const restore = await redis.interrupt();
    try {
      const started = Date.now();
      expect(await readText(cached, 'r/a.txt')).toBe('before');
      await writeText(cached, 'r/a.txt', 'during the outage');
      expect(await readText(cached, 'r/a.txt')).toBe('during the outage');
      expect(await shallow(cached, 'r')).toEqual(['file:r/a.txt']);
      await cached.delete('r/a.txt');
      await expectCode(cached.stat('r/a.txt'), 'ENOENT');
      expect(Date.now() - started).toBeLessThan(5000);
      expect(cached.counters.storeErrors).toBeGreaterThan(0);
    } finally {
      await restore();
    }
    await writeText(cached, 'r/a.txt', 'after');
    await sleep(250); // past retryDelayMs: the store connects again
    expect(await readText(cached, 'r/a.txt')).toBe('after');
    expect(await innerCallsOf(calls, () => readText(cached, 'r/a.txt'))).toBe(0);
  });

  it('an invalidation redis missed (cut off, data kept) is delivered before the cache is read again', async () => {
    const proxy = await startTcpProxy(await freePort(), redis.port);
    try {
      const tree = new MemoryTree();
      const prefix = freshPrefix();
      const { cached } = cachedMemory({ tree, store: redisStore(`redis://127.0.0.1:${proxy.port}`, prefix) });
      await writeText(cached, 'p/a.txt', 'old');
      expect(await readText(cached, 'p/a.txt')).toBe('old');
      await proxy.cut();
      await writeText(cached, 'p/a.txt', 'new while cut off');
      expect(cached.owedInvalidations).toBeGreaterThan(0);
      await proxy.restore();
      await sleep(250);
      expect(await readText(cached, 'p/a.txt')).toBe('new while cut off');
      expect(cached.owedInvalidations).toBe(0);
      // A second driver on the same redis (never cut off) sees the delivered invalidation too.
      const other = cachedMemory({ tree, store: redisStore(redis.url, prefix) });
      expect(await readText(other.cached, 'p/a.txt')).toBe('new while cut off');
    } finally {
      await proxy.close();
    }
  });

  it('a redis that is not there costs nothing but misses', async () => {
    const port = await freePort();
    const { cached, calls } = cachedMemory({ store: redisStore(`redis://127.0.0.1:${port}`, freshPrefix()) });
    const started = Date.now();
    await writeText(cached, 'n/a.txt', 'no redis');
    for (let i = 0; i < 3; i++) expect(await readText(cached, 'n/a.txt')).toBe('no redis');
    expect(calls.read).toBe(3);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('a redis that accepts connections but never answers: bounded waits, right answers', async () => {
    const sockets = new Set<Socket>();
    const silent = createServer((socket) => {
      sockets.add(socket); // accepted, never answered
      socket.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = silent.address() as AddressInfo;
      const { cached } = cachedMemory({ store: redisStore(`redis://127.0.0.1:${port}`, freshPrefix()) });
      const started = Date.now();
      await writeText(cached, 's/a.txt', 'silent redis');
      for (let i = 0; i < 5; i++) expect(await readText(cached, 's/a.txt')).toBe('silent redis');
      await cached.delete('s/a.txt');
      await expectCode(cached.stat('s/a.txt'), 'ENOENT');
      expect(Date.now() - started).toBeLessThan(8000);
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => silent.close(resolve));
    }
  });
});
