import { describe, expect, it } from 'vitest';
import { MemoryDriver } from '../../../src/drivers/memory/index.js';
import { useHarnesses, expectBytes, patternBytes, upload } from './harness.js';
import { Model, exercise } from './model.js';

const BS = 4096;
const harness = useHarnesses(BS);

describe('content write path (memory driver)', () => {
  for (const seed of [11, 12, 13]) {
    it(`random writes, appends and truncates over clean content read back byte for byte (seed ${seed})`, async () => {
      const driver = new MemoryDriver();
      const initial = patternBytes(5 * BS + 300, seed);
      const source = await upload(driver, `rw-${seed}.bin`, initial);
      const h = harness(driver);
      const content = await h.open(`rw-${seed}.bin`, source);
      expect(content.isDirty()).toBe(false);
      const model = new Model(Buffer.from(initial));
      await exercise(content, model, seed, 200, BS);
      expect(content.isDirty()).toBe(true);
      // The backend still has the old version: nothing is uploaded before commit.
      expect(h.counting.writes).toEqual([]);
    });
  }

  it('a new file (never uploaded) is dirty, starts empty and takes writes and appends', async () => {
    const h = harness(new MemoryDriver());
    const content = await h.open('new.bin', undefined);
    expect(content.isDirty()).toBe(true);
    expect(content.size()).toBe(0);
    expect((await content.read(0, 10)).length).toBe(0);
    const model = new Model(Buffer.alloc(0));
    await exercise(content, model, 21, 60, BS);
    expect(h.counting.reads).toEqual([]);
  });

  it('truncate shrinks and extends: the extension reads as zeros, never as the old clean bytes', async () => {
    const driver = new MemoryDriver();
    const initial = patternBytes(3 * BS, 31);
    const source = await upload(driver, 'trunc.bin', initial);
    const h = harness(driver);
    const content = await h.open('trunc.bin', source);

    await content.truncate(100);
    expect(content.size()).toBe(100);
    expect(content.isDirty()).toBe(true);
    expectBytes(await content.read(0, 3 * BS), initial.subarray(0, 100));
    await content.truncate(2 * BS);
    expectBytes(await content.read(0, 3 * BS), Buffer.concat([initial.subarray(0, 100), Buffer.alloc(2 * BS - 100)]));
    // A write past the end after a shrink leaves a hole of zeros too.
    await content.truncate(50);
    await content.write(BS + 10, Buffer.from('xyz'));
    const expected = Buffer.concat([initial.subarray(0, 50), Buffer.alloc(BS + 10 - 50), Buffer.from('xyz')]);
    expectBytes(await content.read(0, 3 * BS), expected);
  });

  it('truncate to the current size of a clean file changes nothing', async () => {
    const driver = new MemoryDriver();
    const source = await upload(driver, 'same.bin', patternBytes(1000, 32));
    const h = harness(driver);
    const content = await h.open('same.bin', source);
    await content.truncate(1000);
    expect(content.isDirty()).toBe(false);
    expect(h.cache.working.exists(content.ino)).toBe(false);
  });

  it('dirty data survives release and is found again by the next open; discard deletes it', async () => {
    const driver = new MemoryDriver();
    const initial = patternBytes(2 * BS, 33);
    const source = await upload(driver, 'keep.bin', initial);
    const h = harness(driver);
    const content = await h.open('keep.bin', source);
    await content.write(10, Buffer.from('hello'));
    await content.syncLocal();
    expect(h.manager.usage().dirtyBytes).toBe(5);
    h.manager.release(content.ino);
    expect(h.manager.usage().dirtyBytes).toBe(5);

    const again = await h.open('keep.bin', source);
    expect(again.isDirty()).toBe(true);
    const expected = Buffer.from(initial);
    expected.write('hello', 10);
    expectBytes(await again.read(0, 2 * BS), expected);

    await h.manager.discard(again.ino);
    expect(h.cache.working.exists(again.ino)).toBe(false);
    expect(h.manager.usage().dirtyBytes).toBe(0);
  });

  it('rejects negative offsets and lengths with EINVAL', async () => {
    const h = harness(new MemoryDriver());
    const content = await h.open('bad.bin', undefined);
    await expect(content.read(-1, 10)).rejects.toMatchObject({ code: 'EINVAL' });
    await expect(content.write(-5, Buffer.from('a'))).rejects.toMatchObject({ code: 'EINVAL' });
    await expect(content.truncate(-1)).rejects.toMatchObject({ code: 'EINVAL' });
  });
});
