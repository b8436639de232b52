import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readlink, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { OpenFiles } from '../../../src/daemon/cache/open-files.js';

/** Descriptors this process holds on `path`, from /proc/self/fd. */
async function descriptorsOn(path: string): Promise<number> {
  let count = 0;
  for (const fd of await readdir('/proc/self/fd')) {
    const target = await readlink(join('/proc/self/fd', fd)).catch(() => '');
    if (target === path || target === `${path} (deleted)`) count++;
  }
  return count;
}

describe('OpenFiles', () => {
  let dir: string;
  const data = randomBytes(64 * 1024);
  const path = (name: string) => join(dir, name);

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'storaged-open-files-'));
    for (const name of ['a', 'b', 'c']) await writeFile(path(name), data);
  });

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function read(files: OpenFiles, name: string, position: number, length: number): Promise<Buffer> {
    const target = Buffer.alloc(length);
    const got = await files.read(name, path(name), target, 0, length, position);
    return target.subarray(0, got);
  }

  it('reads ranges, short only at the end of the file, keeping one descriptor per file', async () => {
    const files = new OpenFiles(8);
    expect(await read(files, 'a', 100, 1000)).toEqual(data.subarray(100, 1100));
    expect(await read(files, 'a', data.length - 10, 100)).toEqual(data.subarray(data.length - 10));
    expect((await read(files, 'a', data.length + 5, 10)).length).toBe(0);
    const target = Buffer.alloc(20, 0xee);
    expect(await files.read('a', path('a'), target, 5, 10, 0)).toBe(10);
    expect(target.subarray(5, 15)).toEqual(data.subarray(0, 10));
    expect(target[4]).toBe(0xee);
    expect(files.size).toBe(1);
    expect(await descriptorsOn(path('a'))).toBe(1);
    files.closeAll();
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(await descriptorsOn(path('a'))).toBe(0);
  });

  it('keeps at most maxOpen idle descriptors, closing the least recently used', async () => {
    const files = new OpenFiles(2);
    await read(files, 'a', 0, 10);
    await read(files, 'b', 0, 10);
    await read(files, 'a', 0, 10); // a is now more recent than b
    await read(files, 'c', 0, 10);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(files.size).toBe(2);
    expect([await descriptorsOn(path('a')), await descriptorsOn(path('b')), await descriptorsOn(path('c'))]).toEqual([1, 0, 1]);
    files.closeAll();
  });

  it('forget closes the descriptor: a read after the file is removed fails ENOENT', async () => {
    const files = new OpenFiles(8);
    await read(files, 'a', 0, 10);
    await unlink(path('a'));
    // Still open: the content of an unlinked file is still readable through it.
    expect(await read(files, 'a', 0, 10)).toEqual(data.subarray(0, 10));
    files.forget('a');
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(await descriptorsOn(path('a'))).toBe(0);
    await expect(read(files, 'a', 0, 10)).rejects.toMatchObject({ code: 'ENOENT' });
    expect(files.size).toBe(0);
  });

  it('never closes a descriptor under a running read; the read that finishes last closes a dropped one', async () => {
    const files = new OpenFiles(1);
    const reads = Array.from({ length: 20 }, (_, i) => read(files, i % 2 === 0 ? 'a' : 'b', i * 100, 3000));
    files.forget('a');
    files.forget('b');
    const results = await Promise.all(reads);
    results.forEach((bytes, i) => expect(bytes).toEqual(data.subarray(i * 100, i * 100 + 3000)));
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(await descriptorsOn(path('a'))).toBe(0);
    expect(await descriptorsOn(path('b'))).toBe(0);
    expect(files.size).toBe(0);
  });

  it('after closeAll, reads still work and leave nothing open', async () => {
    const files = new OpenFiles(8);
    files.closeAll();
    expect(await read(files, 'c', 5, 5)).toEqual(data.subarray(5, 10));
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(files.size).toBe(0);
    expect(await descriptorsOn(path('c'))).toBe(0);
  });
});
