import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openBlockCache } from '../../../src/daemon/cache/block-cache.js';
import { openDatabase, type Database } from '../../../src/daemon/db.js';

describe('openBlockCache', () => {
  let dir: string;
  let db: Database;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'storaged-cache-'));
    db = openDatabase(join(dir, 'meta.db'));
  });

  afterEach(async () => {
    db.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('creates its tables, and both parts work across a reopen', async () => {
    const cache = openBlockCache(db, dir, { blockSize: 4096, maxBytes: 1 << 20 });
    const hash = await cache.blocks.put(Buffer.from('clean data'));
    const file = await cache.working.open(42, 0);
    await file.write(0, Buffer.from('dirty data'));
    await cache.close();
    // The working file's last close recorded its changes.
    const again = openBlockCache(db, dir, { blockSize: 4096, maxBytes: 1 << 20 });
    expect((await again.blocks.read(hash, 0, 100)).toString()).toBe('clean data');
    expect(again.working.list()).toEqual([42]);
    const reopened = await again.working.open(42, 0);
    expect(reopened.missing(0, 10)).toEqual([]);
    expect((await reopened.read(0, 10)).toString()).toBe('dirty data');
    await again.close();
    const tables = db.prepare<string>("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").pluck().all();
    expect(tables).toEqual(expect.arrayContaining(['blocks', 'working_files']));
  });

  it('promote turns a working file into a clean block by moving it; the working file is gone', async () => {
    const cache = openBlockCache(db, dir, { blockSize: 4096 });
    const data = Buffer.from('small file content');
    const hash = createHash('sha256').update(data).digest('hex');
    const file = await cache.working.open(7, 0);
    await file.write(0, data);
    expect(await cache.promote(7, hash, data.length)).toBe(true);
    expect(cache.working.exists(7)).toBe(false);
    expect(await readdir(join(dir, 'work'))).toEqual([]);
    expect(cache.blocks.has(hash)).toBe(true);
    expect(cache.blocks.usage()).toEqual({ bytes: data.length, blocks: 1 });
    expect((await cache.blocks.read(hash, 0, 100)).equals(data)).toBe(true);
    await expect(file.write(0, Buffer.from('late'))).rejects.toMatchObject({ code: 'EIO' });

    // A block the store already has: the working file is deleted instead, and promote says so.
    const twin = await cache.working.open(8, 0);
    await twin.write(0, data);
    expect(await cache.promote(8, hash, data.length)).toBe(false);
    expect(cache.working.exists(8)).toBe(false);
    expect(await readdir(join(dir, 'work'))).toEqual([]);
    expect(cache.blocks.usage()).toEqual({ bytes: data.length, blocks: 1 });
    // No working file at all: nothing happens.
    expect(await cache.promote(9, hash, data.length)).toBe(false);
    await cache.close();
    expect(db.prepare<number>('SELECT count(*) FROM working_files').pluck().get()).toBe(0);
  });

  it('a working file writes its row at its first sync or last close, not when created', async () => {
    const cache = openBlockCache(db, dir, { blockSize: 4096 });
    const rows = () => db.prepare<number>('SELECT ino FROM working_files ORDER BY ino').pluck().all();
    const synced = await cache.working.open(1, 0);
    const closed = await cache.working.open(2, 10);
    const removed = await cache.working.open(3, 0);
    await removed.write(0, Buffer.from('x'));
    expect(rows()).toEqual([]);
    await synced.write(0, Buffer.from('kept'));
    await synced.sync();
    await closed.close(); // never written: still recorded, as the 10 bytes nothing holds
    await cache.working.remove(3);
    expect(rows()).toEqual([1, 2]);
    await cache.close();
    const again = openBlockCache(db, dir, { blockSize: 4096 });
    expect(again.working.list()).toEqual([1, 2]);
    expect((await again.working.open(2, 0)).size).toBe(10);
    await again.close();
  });

  it('sweeps crash leftovers in the background', async () => {
    const orphan = createHash('sha256').update('left behind').digest('hex');
    await mkdir(join(dir, 'blocks', orphan.slice(0, 2)), { recursive: true });
    await writeFile(join(dir, 'blocks', orphan.slice(0, 2), orphan), 'left behind');
    const cache = openBlockCache(db, dir, { blockSize: 4096 });
    await cache.blocks.whenIdle();
    expect(await readdir(join(dir, 'blocks', orphan.slice(0, 2)))).toEqual([]);
    await cache.close();
  });

  it('enforces a lowered size limit at open', async () => {
    const first = openBlockCache(db, dir, { blockSize: 1024 });
    for (let i = 0; i < 10; i++) await first.blocks.put(randomBytes(1024));
    await first.close();
    const second = openBlockCache(db, dir, { blockSize: 1024, maxBytes: 4096 });
    await second.blocks.whenIdle();
    expect(second.blocks.usage().bytes).toBeLessThanOrEqual(4096 * 0.9);
    await second.close();
  });
});
