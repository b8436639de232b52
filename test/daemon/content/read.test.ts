import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { FsError } from '../../../src/core/errors.js';
import { MemoryDriver } from '../../../src/drivers/memory/index.js';
import { useHarnesses, expectBytes, patternBytes, upload } from './harness.js';

const BS = 4096;
const harness = useHarnesses(BS);

describe('content read path (memory driver)', () => {
  it('a cold read fetches exactly the blocks it overlaps, each by one ranged read', async () => {
    const driver = new MemoryDriver();
    const data = patternBytes(5 * BS + 1234, 1);
    const source = await upload(driver, 'f.bin', data);
    const h = harness(driver);
    const content = await h.open('f.bin', source);

    expectBytes(await content.read(5000, 6000), data.subarray(5000, 11000));
    expect(h.counting.reads).toEqual([
      { key: 'f.bin', offset: BS, length: BS },
      { key: 'f.bin', offset: 2 * BS, length: BS },
    ]);
    // The last block is short: its range ends at the end of the file; a read past the end is short.
    h.counting.reset();
    expectBytes(await content.read(5 * BS, 10 * BS), data.subarray(5 * BS));
    expect(h.counting.reads).toEqual([{ key: 'f.bin', offset: 5 * BS, length: 1234 }]);
    expect((await content.read(data.length, 10)).length).toBe(0);
    expect(h.index.blocks(h.node('f.bin')).map((ref) => [ref.index, ref.size])).toEqual([
      [1, BS],
      [2, BS],
      [5, 1234],
    ]);
  });

  it('a warm read makes no driver call, also after release and after a remount', async () => {
    const driver = new MemoryDriver();
    const data = patternBytes(3 * BS + 77, 2);
    const source = await upload(driver, 'warm.bin', data);
    const dir = mkdtempSync(join(tmpdir(), 'storaged-content-remount-'));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const first = harness(driver, { dir });
    const content = await first.open('warm.bin', source);
    expectBytes(await content.read(0, data.length), data);
    expect(first.counting.reads.length).toBe(4);

    first.counting.reset();
    expectBytes(await content.read(100, 3 * BS), data.subarray(100, 100 + 3 * BS));
    first.manager.release(content.ino);
    const again = await first.open('warm.bin', source);
    expectBytes(await again.read(0, data.length), data);
    expect(first.counting.reads).toEqual([]);

    // A remount over the same cache folder answers from the persisted block map and blocks.
    await first.close();
    const second = harness(driver, { dir });
    const reopened = await second.open('warm.bin', source);
    expectBytes(await reopened.read(0, data.length), data);
    expect(second.counting.reads).toEqual([]);
  });

  it('sequential reads prefetch the following blocks in parallel, random reads do not', async () => {
    const driver = new MemoryDriver({ latencyMs: 25 });
    const blocks = 24;
    const data = patternBytes(blocks * BS, 3);
    const source = await upload(driver, 'seq.bin', data);
    const h = harness(driver, { readAhead: 8 * BS, fetchConcurrency: 3 });
    const content = await h.open('seq.bin', source);

    for (let block = 0; block < blocks; block++) {
      expectBytes(await content.read(block * BS, BS), data.subarray(block * BS, (block + 1) * BS));
    }
    await h.settled();
    // Every block was asked for exactly once (demand reads joined the prefetches in flight).
    expect(h.counting.blocksRead(BS).sort((a, b) => a - b)).toEqual([...Array(blocks).keys()]);
    expect(h.counting.maxInFlight).toBeGreaterThanOrEqual(2);
    expect(h.counting.maxInFlight).toBeLessThanOrEqual(3 + 1);

    const random = await h.open('rand.bin', await upload(driver, 'rand.bin', data));
    h.counting.reset();
    for (const block of [7, 2, 12, 5, 19, 9, 15]) {
      expectBytes(await random.read(block * BS + 10, 100), data.subarray(block * BS + 10, block * BS + 110));
    }
    await h.settled();
    expect(h.counting.blocksRead(BS)).toEqual([7, 2, 12, 5, 19, 9, 15]);
    expect(h.counting.maxInFlight).toBe(1);
  });

  it('the read-ahead window opens at 2 blocks, doubles while access stays sequential, and resets on a random read', async () => {
    const driver = new MemoryDriver();
    const data = patternBytes(64 * BS, 4);
    const source = await upload(driver, 'grow.bin', data);
    const h = harness(driver, { readAhead: 16 * BS, fetchConcurrency: 4 });
    const content = await h.open('grow.bin', source);
    const highest = async (): Promise<number> => {
      await h.settled();
      return Math.max(...h.counting.blocksRead(BS));
    };

    await content.read(0, BS);
    expect(await highest()).toBe(0);
    const expected = [1 + 2, 2 + 4, 3 + 8, 4 + 16, 5 + 16];
    for (const [step, last] of expected.entries()) {
      await content.read((step + 1) * BS, BS);
      expect(await highest()).toBe(last);
    }
    // Random access: nothing is prefetched; the next sequential read opens the window at 2 again.
    h.counting.reset();
    await content.read(40 * BS, BS);
    expect(await highest()).toBe(40);
    await content.read(41 * BS, BS);
    expect(h.counting.blocksRead(BS).sort((a, b) => a - b)).toEqual([40, 41, 42, 43]);
  });

  it('read-ahead skips blocks the working file holds entirely', async () => {
    const driver = new MemoryDriver();
    const data = patternBytes(10 * BS, 10);
    const source = await upload(driver, 'held.bin', data);
    const h = harness(driver, { readAhead: 8 * BS });
    const content = await h.open('held.bin', source);
    const written = patternBytes(4 * BS, 11);
    await content.write(2 * BS, written);
    for (let block = 0; block < 3; block++) await content.read(block * BS, BS);
    await h.settled();
    // Sequential from the 2nd read: window 2 (blocks 2, 3: held), then 4 (blocks 3..6: only 6 is not held).
    expect(h.counting.blocksRead(BS).sort((a, b) => a - b)).toEqual([0, 1, 6]);
    const expected = Buffer.concat([data.subarray(0, 2 * BS), written, data.subarray(6 * BS)]);
    expectBytes(await content.read(0, 10 * BS), expected);
  });

  it('two readers of the same block share one request', async () => {
    const driver = new MemoryDriver({ latencyMs: 40 });
    const data = patternBytes(2 * BS, 5);
    const source = await upload(driver, 'shared.bin', data);
    const h = harness(driver);
    const content = await h.open('shared.bin', source);
    const [a, b, c] = await Promise.all([content.read(0, 100), content.read(2000, 500), content.read(BS - 10, 20)]);
    expect(a).toEqual(data.subarray(0, 100));
    expect(b).toEqual(data.subarray(2000, 2500));
    expect(c).toEqual(data.subarray(BS - 10, BS + 10));
    expect(h.counting.blocksRead(BS).sort()).toEqual([0, 1]);
  });

  it('an evicted block, or one whose file vanished, is fetched again', async () => {
    const driver = new MemoryDriver();
    const data = patternBytes(3 * BS, 6);
    const source = await upload(driver, 'evict.bin', data);
    const h = harness(driver);
    const content = await h.open('evict.bin', source);
    expectBytes(await content.read(0, data.length), data);
    expect(h.blockFiles().length).toBe(3);

    await h.cache.blocks.evict(0);
    expect(h.blockFiles()).toEqual([]);
    h.counting.reset();
    expectBytes(await content.read(0, data.length), data);
    expect(h.counting.blocksRead(BS)).toEqual([0, 1, 2]);

    // A block file deleted behind the store's back: the read notices ENOENT and refetches.
    const hash = h.index.block(content.ino, 1)!.hash;
    rmSync(join(h.dir, 'blocks', hash.slice(0, 2), hash));
    h.counting.reset();
    expectBytes(await content.read(BS, BS), data.subarray(BS, 2 * BS));
    expect(h.counting.blocksRead(BS)).toEqual([1]);
  });

  it('a demand read fails with the driver error; a failing prefetch is only logged', async () => {
    const driver = new MemoryDriver();
    const data = patternBytes(6 * BS, 7);
    const source = await upload(driver, 'fail.bin', data);
    const h = harness(driver, { readAhead: 4 * BS });
    const content = await h.open('fail.bin', source);

    const outage = driver.failures.inject({ op: 'read', code: 'ETIMEDOUT' });
    await expect(content.read(0, 10)).rejects.toMatchObject({ code: 'ETIMEDOUT' });
    outage.remove();

    // Warm block 1, then read block 0 and block 1 again: the second is sequential and served from cache,
    // while its prefetches of blocks 2 and 3 hit the injected failure.
    await content.read(BS, BS);
    await content.read(0, BS);
    const failing = driver.failures.inject({ op: 'read', code: 'EIO' });
    expectBytes(await content.read(BS, BS), data.subarray(BS, 2 * BS));
    await h.settled();
    expect(failing.fired).toBeGreaterThanOrEqual(1);
    expect(h.logger.warnings.some((w) => w.message.includes('read-ahead'))).toBe(true);
    const error = await content.read(2 * BS, 10).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(FsError);
    expect((error as FsError).code).toBe('EIO');
    failing.remove();
    expectBytes(await content.read(2 * BS, BS), data.subarray(2 * BS, 3 * BS));
  });

  it('fails EIO when the object changed size under its binding, and reads the new version once rebound', async () => {
    const driver = new MemoryDriver();
    const old = patternBytes(3 * BS, 8);
    const source = await upload(driver, 'changed.bin', old);
    const h = harness(driver);
    const content = await h.open('changed.bin', source);
    expectBytes(await content.read(0, BS), old.subarray(0, BS));

    const replaced = patternBytes(2 * BS + 5, 9);
    const next = await upload(driver, 'changed.bin', replaced);
    await expect(content.read(2 * BS, BS)).rejects.toMatchObject({ code: 'EIO' });

    h.manager.invalidate(content.ino);
    expect(h.index.blocks(content.ino)).toEqual([]);
    const rebound = await h.manager.open(content.ino, next);
    expect(rebound).toBe(content);
    expect(content.size()).toBe(replaced.length);
    expectBytes(await content.read(0, replaced.length), replaced);

    // Invalidated while a handle holds it: the next read looks the version up (one stat) and rebinds.
    const third = patternBytes(4 * BS + 9, 12);
    await upload(driver, 'changed.bin', third);
    h.manager.invalidate(content.ino);
    h.counting.reset();
    expectBytes(await content.read(0, third.length), third);
    expect(content.size()).toBe(third.length);
    expect(h.counting.blocksRead(BS).sort()).toEqual([0, 1, 2, 3, 4]);
    h.counting.reset();
    expectBytes(await content.read(0, third.length), third);
    expect(h.counting.reads).toEqual([]);
  });
});
