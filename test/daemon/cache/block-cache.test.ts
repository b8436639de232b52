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
