import { mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { migrateCacheSchema } from '../../../src/daemon/cache/schema.js';
import type { LocalWorkingFile } from '../../../src/daemon/cache/working-file.js';
import { LocalWorkingFiles } from '../../../src/daemon/cache/working-files.js';
import { openDatabase, type Database } from '../../../src/daemon/db.js';

describe('LocalWorkingFiles', () => {
  let dir: string;
  let db: Database;
  let files: LocalWorkingFiles;
  /** Instances replaced by restart(): their handles are closed after the test. */
  const abandoned: LocalWorkingFiles[] = [];

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'storaged-work-'));
    db = openDatabase(join(dir, 'meta.db'));
    migrateCacheSchema(db);
    files = new LocalWorkingFiles(db, dir);
  });

  afterEach(async () => {
    for (const old of [...abandoned.splice(0), files]) await old.closeAll();
    db.close();
    await rm(dir, { recursive: true, force: true });
  });

  /** A fresh LocalWorkingFiles on the same database and folder, as after a restart. */
  function restart(): LocalWorkingFiles {
    abandoned.push(files);
    files = new LocalWorkingFiles(db, dir);
    return files;
  }

  async function openFile(ino: number, initialSize = 0): Promise<LocalWorkingFile> {
    return (await files.open(ino, initialSize)) as LocalWorkingFile;
  }

  it('a new working file has its initial size and holds nothing', async () => {
    const file = await openFile(7, 100);
    expect(file.size).toBe(100);
    expect(file.bytesHeld).toBe(0);
    expect(file.missing(0, 100)).toEqual([{ offset: 0, length: 100 }]);
    expect(file.missing(50, 100)).toEqual([{ offset: 50, length: 50 }]); // nothing beyond the size
    expect(file.missing(100, 10)).toEqual([]);
    expect((await stat(join(dir, 'work', '7'))).size).toBe(100);
    expect(files.exists(7)).toBe(true);
    expect(files.list()).toEqual([7]);
  });

  it('a write holds its range; missing lists the rest', async () => {
    const file = await openFile(1, 100);
    await file.write(20, Buffer.from('abcdefghij'));
    expect(file.size).toBe(100);
    expect(file.bytesHeld).toBe(10);
    expect(file.missing(0, 100)).toEqual([
      { offset: 0, length: 20 },
      { offset: 30, length: 70 },
    ]);
    expect(file.missing(22, 5)).toEqual([]);
    expect((await file.read(20, 10)).toString()).toBe('abcdefghij');
    await file.write(25, Buffer.from('XYZ'));
    expect((await file.read(20, 10)).toString()).toBe('abcdeXYZij');
    expect(file.bytesHeld).toBe(10);
  });

  it('a write past the end extends the size; the gap reads as zeros and is held', async () => {
    const file = await openFile(1, 10);
    await file.write(0, Buffer.from('0123456789'));
    await file.write(20, Buffer.from('tail'));
    expect(file.size).toBe(24);
    expect(file.missing(0, 24)).toEqual([]);
    expect(await file.read(10, 10)).toEqual(Buffer.alloc(10));
    expect((await file.read(0, 100)).toString()).toBe(`0123456789${'\0'.repeat(10)}tail`); // short at the end
  });

  it('a write past the end of an unheld file holds the gap but not the old content', async () => {
    const file = await openFile(1, 10);
    await file.write(15, Buffer.from('x'));
    expect(file.missing(0, 16)).toEqual([{ offset: 0, length: 10 }]);
  });

  it('truncate shrinks the held ranges and an extension reads as held zeros', async () => {
    const file = await openFile(1, 0);
    await file.write(0, Buffer.from('abcdefghijklmnop'));
    await file.truncate(5);
    expect(file.size).toBe(5);
    expect(file.bytesHeld).toBe(5);
    expect((await file.read(0, 100)).toString()).toBe('abcde');
    await file.truncate(12);
    expect(file.missing(0, 12)).toEqual([]);
    expect((await file.read(0, 12)).toString()).toBe(`abcde${'\0'.repeat(7)}`);
    expect((await stat(join(dir, 'work', '1'))).size).toBe(12);
  });

  it('truncate of a file holding nothing keeps the kept part missing', async () => {
    const file = await openFile(1, 100);
    await file.write(80, Buffer.from('z'.repeat(20)));
    await file.truncate(50);
    expect(file.missing(0, 100)).toEqual([{ offset: 0, length: 50 }]);
    await file.truncate(60);
    expect(file.missing(0, 100)).toEqual([{ offset: 0, length: 50 }]);
  });

  it('size and held ranges survive a restart after sync; the initial size is then ignored', async () => {
    const file = await openFile(3, 1000);
    await file.write(100, Buffer.from('hello'));
    await file.write(1200, Buffer.from('world'));
    await file.sync();
    restart();
    expect(files.exists(3)).toBe(true);
    expect(files.list()).toEqual([3]);
    const again = await openFile(3, 5);
    expect(again.size).toBe(1205);
    expect(again.heldRanges()).toEqual([
      { offset: 100, length: 5 },
      { offset: 1000, length: 205 },
    ]);
    expect((await again.read(100, 5)).toString()).toBe('hello');
    expect((await again.read(1200, 5)).toString()).toBe('world');
  });

  it('changes after the last sync are not counted as held after a crash', async () => {
    const file = await openFile(3, 0);
    await file.write(0, Buffer.from('synced'));
    await file.sync();
    await file.write(100, Buffer.from('unsynced'));
    // No close: the process "crashed"; a new instance reads what sync recorded.
    restart();
    const again = await openFile(3, 0);
    expect(again.size).toBe(6);
    expect(again.heldRanges()).toEqual([{ offset: 0, length: 6 }]);
    expect((await stat(join(dir, 'work', '3'))).size).toBe(6);
  });

  it('the last close records changes made since the last sync', async () => {
    const file = await openFile(4, 0);
    await file.write(0, Buffer.from('closed'));
    await file.close();
    restart();
    const again = await openFile(4, 0);
    expect(again.heldRanges()).toEqual([{ offset: 0, length: 6 }]);
    expect((await again.read(0, 6)).toString()).toBe('closed');
  });

  it('opening an open inode gives the same object; each open needs its close', async () => {
    const one = await openFile(5, 0);
    const two = await openFile(5, 0);
    expect(two).toBe(one);
    await one.close();
    await two.write(0, Buffer.from('still open'));
    await two.close();
    await expect(two.write(0, Buffer.from('late'))).rejects.toMatchObject({ code: 'EIO' });
    const three = await openFile(5, 0);
    expect(three).not.toBe(one);
    expect((await three.read(0, 10)).toString()).toBe('still open');
  });

  it('remove deletes file and row; the open object then fails EIO', async () => {
    const file = await openFile(6, 10);
    await file.write(0, Buffer.from('x'));
    await file.sync();
    await files.remove(6);
    expect(files.exists(6)).toBe(false);
    expect(files.list()).toEqual([]);
    expect(await readdir(join(dir, 'work'))).toEqual([]);
    await expect(file.write(0, Buffer.from('y'))).rejects.toMatchObject({ code: 'EIO' });
    await expect(file.read(0, 1)).rejects.toMatchObject({ code: 'EIO' });
    await files.remove(6); // removing again is harmless
    restart();
    expect(files.exists(6)).toBe(false);
    const fresh = await openFile(6, 3);
    expect(fresh.size).toBe(3);
    expect(fresh.bytesHeld).toBe(0);
  });

  it('startup drops files without a row and rows without a file', async () => {
    const kept = await openFile(8, 4);
    await kept.close();
    const lost = await openFile(9, 4);
    await lost.close();
    await rm(join(dir, 'work', '9'));
    await writeFile(join(dir, 'work', '10'), 'orphan');
    restart();
    expect(files.list()).toEqual([8]);
    expect(await readdir(join(dir, 'work'))).toEqual(['8']);
  });

  it('concurrent writes apply in call order', async () => {
    const file = await openFile(11, 0);
    await Promise.all([
      file.write(0, Buffer.from('aaaaaaaaaa')),
      file.write(5, Buffer.from('bbbbbbbbbb')),
      file.truncate(12),
      file.write(20, Buffer.from('c')),
    ]);
    expect((await file.read(0, 21)).toString()).toBe(`aaaaabbbbbbb${'\0'.repeat(8)}c`);
    expect(file.missing(0, 21)).toEqual([]);
  });

  it('rejects invalid arguments with EINVAL', async () => {
    await expect(files.open(0, 0)).rejects.toMatchObject({ code: 'EINVAL' });
    await expect(files.open(1, -1)).rejects.toMatchObject({ code: 'EINVAL' });
    const file = await openFile(1, 0);
    await expect(file.write(-1, Buffer.from('x'))).rejects.toMatchObject({ code: 'EINVAL' });
    await expect(file.truncate(1.5)).rejects.toMatchObject({ code: 'EINVAL' });
  });

  it('matches an in-memory model under random writes and truncates', async () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant('write' as const), offset: fc.integer({ min: 0, max: 300 }), length: fc.integer({ min: 0, max: 60 }) }),
      fc.record({ kind: fc.constant('truncate' as const), offset: fc.integer({ min: 0, max: 350 }), length: fc.constant(0) }),
    );
    let ino = 100;
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 200 }), fc.array(op, { maxLength: 12 }), async (initialSize, ops) => {
        const file = await openFile(++ino, initialSize);
        let model: Model = { bytes: Buffer.alloc(initialSize), held: new Array<boolean>(initialSize).fill(false) };
        let stamp = 0;
        for (const { kind, offset, length } of ops) {
          if (kind === 'write') {
            const data = Buffer.alloc(length, 65 + (stamp++ % 26));
            await file.write(offset, data);
            model = writeModel(model, offset, data);
          } else {
            await file.truncate(offset);
            model = truncateModel(model, offset);
          }
        }
        expect(file.size).toBe(model.bytes.length);
        expect(file.bytesHeld).toBe(model.held.filter(Boolean).length);
        const missingBytes = file.missing(0, file.size + 10).flatMap(({ offset, length }) => Array.from({ length }, (_, k) => offset + k));
        expect(missingBytes).toEqual(model.held.flatMap((held, at) => (held ? [] : [at])));
        for (const { offset, length } of file.heldRanges()) {
          expect(await file.read(offset, length)).toEqual(model.bytes.subarray(offset, offset + length));
        }
        await files.remove(ino);
      }),
      { numRuns: 40 },
    );
  });
});

interface Model {
  bytes: Buffer;
  held: boolean[];
}

function writeModel(model: Model, offset: number, data: Buffer): Model {
  if (data.length === 0) return model;
  const size = Math.max(model.bytes.length, offset + data.length);
  const grown = grow(model, size);
  data.copy(grown.bytes, offset);
  for (let at = offset; at < offset + data.length; at++) grown.held[at] = true;
  return grown;
}

function truncateModel(model: Model, size: number): Model {
  if (size <= model.bytes.length) return { bytes: Buffer.from(model.bytes.subarray(0, size)), held: model.held.slice(0, size) };
  return grow(model, size);
}

/** Extends to `size`: the new bytes are zeros and held. */
function grow(model: Model, size: number): Model {
  const bytes = Buffer.alloc(size);
  model.bytes.copy(bytes);
  const held = [...model.held, ...new Array<boolean>(Math.max(0, size - model.held.length)).fill(true)];
  return { bytes, held };
}
