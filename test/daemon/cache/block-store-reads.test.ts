import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readlink, rm, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FileBlockStore } from '../../../src/daemon/cache/block-store.js';
import { migrateCacheSchema } from '../../../src/daemon/cache/schema.js';
import { openDatabase, type Database } from '../../../src/daemon/db.js';

const BLOCK = 4096;

/** Descriptors this process holds on files below `dir`. */
async function descriptorsBelow(dir: string): Promise<number> {
  let count = 0;
  for (const fd of await readdir('/proc/self/fd')) {
    const target = await readlink(join('/proc/self/fd', fd)).catch(() => '');
    if (target.startsWith(`${dir}/`)) count++;
  }
  return count;
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 20));

describe('FileBlockStore reads through kept descriptors', () => {
  let dir: string;
  let db: Database;
  let store: FileBlockStore;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'storaged-block-reads-'));
    db = openDatabase(join(dir, 'meta.db'));
    migrateCacheSchema(db);
    store = new FileBlockStore(db, dir, { blockSize: BLOCK, maxOpenFiles: 2 });
  });

  afterEach(async () => {
    store.close();
    await store.whenIdle();
    db.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('keeps a block file open between reads, at most maxOpenFiles of them, and closes them on close()', async () => {
    const blocks = [randomBytes(BLOCK), randomBytes(BLOCK), randomBytes(BLOCK)];
    const hashes = await Promise.all(blocks.map((b) => store.put(b)));
    for (let round = 0; round < 3; round++) {
      for (const [i, hash] of hashes.entries()) expect(await store.read(hash, 100, 200)).toEqual(blocks[i]!.subarray(100, 300));
    }
    await settle();
    expect(await descriptorsBelow(join(dir, 'blocks'))).toBe(2);
    store.close();
    await settle();
    expect(await descriptorsBelow(join(dir, 'blocks'))).toBe(0);
  });

  it('an evicted block fails ENOENT even when its file was open, and its descriptor is closed', async () => {
    const data = randomBytes(BLOCK);
    const hash = await store.put(data);
    expect(await store.read(hash, 0, 10)).toEqual(data.subarray(0, 10));
    await store.evict(0);
    await settle();
    expect(await descriptorsBelow(join(dir, 'blocks'))).toBe(0);
    await expect(store.read(hash, 0, 10)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('a block file deleted behind the store still reads through a kept descriptor (its content cannot change)', async () => {
    const data = randomBytes(BLOCK);
    const hash = await store.put(data);
    await store.read(hash, 0, 1);
    await unlink(join(dir, 'blocks', hash.slice(0, 2), hash));
    expect(await store.read(hash, 10, 20)).toEqual(data.subarray(10, 30));
    // A sweep notices the missing file, drops the row and the descriptor: the next read fails ENOENT.
    await store.sweep();
    expect(store.has(hash)).toBe(false);
    await expect(store.read(hash, 0, 1)).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
