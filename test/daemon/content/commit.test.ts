import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { MemoryDriver } from '../../../src/drivers/memory/index.js';
import { useHarnesses, download, expectBytes, patternBytes, upload } from './harness.js';
import { Model, exercise } from './model.js';

const BS = 4096;
const harness = useHarnesses(BS);

const sha256 = (data: Buffer): string => createHash('sha256').update(data).digest('hex');
const META = { 'storaged-mode': '100644', 'storaged-uid': '1000' };

describe('content commit (memory driver)', () => {
  it('uploads exactly the model bytes with the metadata; afterwards the content is clean and served from blocks', async () => {
    const driver = new MemoryDriver();
    const initial = patternBytes(6 * BS + 99, 41);
    const source = await upload(driver, 'c.bin', initial);
    const h = harness(driver);
    const content = await h.open('c.bin', source);
    const model = new Model(Buffer.from(initial));
    // Cold cache: the commit itself must fetch the clean ranges the writes did not cover.
    await content.write(BS + 5, Buffer.from('middle'));
    model.write(BS + 5, Buffer.from('middle'));
    await exercise(content, model, 42, 60, BS);
    h.counting.reset();

    const committed = await content.commit('c.bin', META);
    const stored = await download(driver, 'c.bin');
    expectBytes(stored, model.bytes);
    const stat = await driver.stat('c.bin');
    expect(stat.metadata).toMatchObject(META);
    expect(committed).toMatchObject({ etag: stat.etag, size: model.bytes.length, contentHash: sha256(model.bytes) });
    expect(Math.abs(committed.mtimeMs - stat.lastModified.getTime())).toBeLessThan(5000);
    expect(h.counting.writes).toEqual([{ key: 'c.bin', options: { metadata: META, size: model.bytes.length } }]);

    expect(content.isDirty()).toBe(false);
    expect(content.size()).toBe(model.bytes.length);
    expect(h.cache.working.exists(content.ino)).toBe(false);
    expect(h.manager.usage().dirtyBytes).toBe(0);
    const refs = h.index.blocks(content.ino);
    expect(refs.map((ref) => ref.index)).toEqual([...Array(Math.ceil(model.bytes.length / BS)).keys()]);
    for (const ref of refs) expect(ref.hash).toBe(sha256(model.bytes.subarray(ref.index * BS, ref.index * BS + ref.size)));

    h.counting.reset();
    expectBytes(await content.read(0, model.bytes.length), model.bytes);
    expect(h.counting.reads).toEqual([]);
  });

  it('a commit of a mostly clean, uncached file fetches each block once, a few at a time, while streaming', async () => {
    const driver = new MemoryDriver({ latencyMs: 5 });
    const initial = patternBytes(40 * BS + 17, 48);
    const source = await upload(driver, 'stream.bin', initial);
    const h = harness(driver, { fetchConcurrency: 3 });
    const content = await h.open('stream.bin', source);
    await content.write(20 * BS + 1, Buffer.from('patched'));
    const expected = Buffer.from(initial);
    expected.write('patched', 20 * BS + 1);
    h.counting.reset();

    await content.commit('stream.bin', {});
    expectBytes(await download(driver, 'stream.bin'), expected);
    expect(h.counting.blocksRead(BS).sort((a, b) => a - b)).toEqual([...Array(41).keys()]);
    expect(h.counting.maxInFlight).toBeGreaterThanOrEqual(2);
    expect(h.counting.maxInFlight).toBeLessThanOrEqual(3 + 1);
    expect(h.counting.writes.length).toBe(1);
  });

  it('a new file is uploaded by commit, also when it was never written (an empty object)', async () => {
    const driver = new MemoryDriver();
    const h = harness(driver);
    const empty = await h.open('empty.txt', undefined);
    const committed = await empty.commit('empty.txt', {});
    expect(committed.size).toBe(0);
    expect(committed.contentHash).toBe(sha256(Buffer.alloc(0)));
    expect((await driver.stat('empty.txt')).size).toBe(0);
    expect(empty.isDirty()).toBe(false);

    const fresh = await h.open('fresh.txt', undefined);
    await fresh.write(0, Buffer.from('hello '));
    await fresh.write(6, Buffer.from('world'));
    await fresh.commit('fresh.txt', {});
    expectBytes(await download(driver, 'fresh.txt'), Buffer.from('hello world'));
  });

  it('a failing upload changes nothing local: the data stays dirty and a later commit succeeds', async () => {
    const driver = new MemoryDriver();
    const initial = patternBytes(4 * BS, 43);
    const source = await upload(driver, 'fail.bin', initial);
    const h = harness(driver);
    const content = await h.open('fail.bin', source);
    const model = new Model(Buffer.from(initial));
    await exercise(content, model, 44, 40, BS);
    const mapBefore = h.index.blocks(content.ino);

    for (const rule of [{ code: 'ENOSPC' as const }, { code: 'ECONNREFUSED' as const, afterBytes: BS + 10 }]) {
      const failure = driver.failures.inject({ op: 'write', times: 1, ...rule });
      await expect(content.commit('fail.bin', META)).rejects.toMatchObject({ code: rule.code });
      expect(failure.fired).toBe(1);
      expect(content.isDirty()).toBe(true);
      expect(h.cache.working.exists(content.ino)).toBe(true);
      expect(h.index.blocks(content.ino)).toEqual(mapBefore);
      expectBytes(await download(driver, 'fail.bin'), initial);
      expectBytes(await content.read(0, model.bytes.length), model.bytes);
    }

    // The clean content cannot be fetched: the commit fails with the read's error and nothing changes.
    await h.cache.blocks.evict(0);
    const readFailure = driver.failures.inject({ op: 'read', code: 'ETIMEDOUT' });
    const partial = await h.open('partial.bin', await upload(driver, 'partial.bin', initial));
    await partial.write(0, Buffer.from('x'));
    await expect(partial.commit('partial.bin', {})).rejects.toMatchObject({ code: 'ETIMEDOUT' });
    expect(partial.isDirty()).toBe(true);
    readFailure.remove();

    await content.commit('fail.bin', META);
    expectBytes(await download(driver, 'fail.bin'), model.bytes);
    await partial.commit('partial.bin', {});
    expectBytes(await download(driver, 'partial.bin'), Buffer.concat([Buffer.from('x'), initial.subarray(1)]));
  });

  it('committing clean content uploads nothing and returns its current version', async () => {
    const driver = new MemoryDriver();
    const data = patternBytes(2 * BS + 1, 45);
    const source = await upload(driver, 'clean.bin', data);
    const h = harness(driver);
    const content = await h.open('clean.bin', source);
    const committed = await content.commit('clean.bin', META);
    expect(committed).toMatchObject({ etag: source.etag, size: data.length, contentHash: sha256(data) });
    expect(h.counting.writes).toEqual([]);
  });

  it('force uploads clean content (streamed from blocks and backend) with new metadata, empty files included', async () => {
    const driver = new MemoryDriver();
    const data = patternBytes(3 * BS + 5, 49);
    const source = await upload(driver, 'meta.bin', data);
    const h = harness(driver);
    const content = await h.open('meta.bin', source);
    expectBytes(await content.read(BS, 10), data.subarray(BS, BS + 10)); // one block cached, the others only on the backend
    h.counting.reset();

    const committed = await content.commit('meta.bin', META, { force: true });
    expectBytes(await download(driver, 'meta.bin'), data);
    const stat = await driver.stat('meta.bin');
    expect(stat.metadata).toMatchObject(META);
    expect(committed).toMatchObject({ etag: stat.etag, size: data.length, contentHash: sha256(data) });
    expect(h.counting.writes).toEqual([{ key: 'meta.bin', options: { metadata: META, size: data.length } }]);
    expect(h.counting.blocksRead(BS).sort((a, b) => a - b)).toEqual([0, 2, 3]);
    expect(content.isDirty()).toBe(false);
    expect(h.cache.working.exists(content.ino)).toBe(false);
    expect(h.index.blocks(content.ino).map((ref) => ref.index)).toEqual([0, 1, 2, 3]);
    h.counting.reset();
    expectBytes(await content.read(0, data.length), data);
    expect(h.counting.reads).toEqual([]);

    const empty = await h.open('empty.bin', await upload(driver, 'empty.bin', Buffer.alloc(0)));
    const emptyCommitted = await empty.commit('empty.bin', META, { force: true });
    expect((await driver.stat('empty.bin')).metadata).toMatchObject(META);
    expect(emptyCommitted).toMatchObject({ size: 0, contentHash: sha256(Buffer.alloc(0)) });
    expect(empty.isDirty()).toBe(false);
  });

  it('with promotion, a file held whole in one block becomes that block by a move; bigger or partial files put theirs', async () => {
    const driver = new MemoryDriver();
    const h = harness(driver, { promote: true });
    const small = await h.open('small.txt', undefined);
    const data = patternBytes(BS - 7, 50);
    await small.write(0, data);
    await small.commit('small.txt', {});
    expectBytes(await download(driver, 'small.txt'), data);
    expect(h.cache.working.exists(small.ino)).toBe(false);
    expect(h.blockFiles()).toEqual([sha256(data)]);
    expect(h.index.blocks(small.ino)).toEqual([{ index: 0, hash: sha256(data), size: data.length }]);
    h.counting.reset();
    expectBytes(await small.read(0, BS), data);
    expect(h.counting.reads).toEqual([]);

    // The same content again: the store has the block, the working file is simply deleted.
    const twin = await h.open('twin.txt', undefined);
    await twin.write(0, data);
    await twin.commit('twin.txt', {});
    expect(h.cache.working.exists(twin.ino)).toBe(false);
    expect(h.blockFiles()).toEqual([sha256(data)]);

    // Partly written over clean content: the clean bytes come from the backend, the block is put.
    const initial = patternBytes(BS, 51);
    const partial = await h.open('partial.bin', await upload(driver, 'partial.bin', initial));
    await partial.write(0, Buffer.from('head'));
    await partial.commit('partial.bin', {});
    const expected = Buffer.concat([Buffer.from('head'), initial.subarray(4)]);
    expectBytes(await download(driver, 'partial.bin'), expected);
    expect(h.blockFiles()).toContain(sha256(expected));
    expect(h.cache.working.exists(partial.ino)).toBe(false);
  });

  it('writes wait for a running commit; the commit uploads the content as it was when it started', async () => {
    const driver = new MemoryDriver({ latencyMs: 50 });
    const h = harness(driver);
    const content = await h.open('race.bin', undefined);
    await content.write(0, Buffer.from('first'));
    const commit = content.commit('race.bin', {});
    const order: string[] = [];
    const write = content.write(5, Buffer.from('second')).then(() => order.push('write'));
    void commit.then(() => order.push('commit'));
    await Promise.all([commit, write]);
    expect(order).toEqual(['commit', 'write']);
    expectBytes(await download(driver, 'race.bin'), Buffer.from('first'));
    expect(content.isDirty()).toBe(true);
    expectBytes(await content.read(0, 100), Buffer.from('firstsecond'));
    await content.commit('race.bin', {});
    expectBytes(await download(driver, 'race.bin'), Buffer.from('firstsecond'));
  });

  it('identical blocks are stored once: two files with the same content share one set of block files', async () => {
    const driver = new MemoryDriver();
    const h = harness(driver);
    const data = Buffer.concat([patternBytes(2 * BS, 46), patternBytes(2 * BS, 46), patternBytes(300, 47)]);
    const a = await h.open('a.bin', undefined);
    await a.write(0, data);
    await a.commit('a.bin', {});
    const b = await h.open('b.bin', await upload(driver, 'b.bin', data));
    expectBytes(await b.read(0, data.length), data);

    const distinct = new Set([0, 1, 2, 3, 4].map((i) => sha256(data.subarray(i * BS, (i + 1) * BS))));
    expect(distinct.size).toBe(3);
    expect(h.blockFiles()).toEqual([...distinct].sort());
    expect(h.manager.usage()).toMatchObject({ blocks: 3, bytes: 2 * BS + 300, dirtyBytes: 0 });
    expect(h.index.blocks(a.ino).map((ref) => ref.hash)).toEqual(h.index.blocks(b.ino).map((ref) => ref.hash));
  });
});
