import { constants } from 'node:fs';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MemoryDriver } from '../../src/drivers/memory/driver.js';
import { createS3Driver } from '../../src/drivers/s3/index.js';
import { S3RVER_OVERRIDES, s3rverClient, s3rverDiskConfig, startS3rver, type S3rver } from '../support/servers/s3rver.js';
import { ROOT_INO, type Vfs } from '../../src/daemon/vfs/types.js';
import { names, openHarness, readFile, readObject, resolve, type Harness } from '../daemon/vfs/support.js';

/**
 * Issue 4: "Before overwriting, the daemon checks the remote version it last
 * saw; on a conflict it keeps both (the remote as it is, the local one under
 * a clear conflict name) and logs it."
 */

const ROOT = { uid: 0, gid: 0, pid: 1 };
const harnesses: Harness[] = [];
afterEach(async () => {
  while (harnesses.length > 0) await harnesses.pop()!.close();
});

async function write(vfs: Vfs, name: string, text: string): Promise<void> {
  let fh: number;
  try {
    ({ fh } = await vfs.create(ROOT_INO, name, 0o644, { flags: constants.O_WRONLY }, ROOT));
  } catch {
    fh = await vfs.open((await vfs.lookup(ROOT_INO, name)).ino, { flags: constants.O_WRONLY | constants.O_TRUNC }, ROOT);
  }
  await vfs.write(fh, 0, Buffer.from(text));
  await vfs.flush(fh);
  await vfs.release(fh);
}

const conflictName = /^notes\.conflict-\d{4}-\d\d-\d\dT\d\d-\d\d-\d\dZ\.txt$/;

describe('conflicts with another writer', () => {
  it('keeps both when the object changed remotely while we had local changes', async () => {
    const backend = new MemoryDriver();
    const h = await openHarness(backend, { writeBack: { delay: 30 } }); // nothing uploads until sync()
    harnesses.push(h);
    await write(h.vfs, 'notes.txt', 'v1 ours');
    await h.vfs.sync();
    await write(h.vfs, 'notes.txt', 'v2 ours, edited offline');
    await backend.write('notes.txt', Buffer.from('v2 theirs')); // another writer, meanwhile
    await h.vfs.sync();

    const keys = (await backend.list('', { recursive: true })).entries.map((e) => e.path).sort();
    expect(keys).toHaveLength(2);
    const kept = keys.find((k) => conflictName.test(k));
    expect(kept, keys.join(', ')).toBeDefined();
    expect((await readObject(backend, 'notes.txt')).toString()).toBe('v2 theirs');
    expect((await readObject(backend, kept!)).toString()).toBe('v2 ours, edited offline');

    // The mount shows both: ours under the conflict name at once, theirs once the directory is listed again.
    await h.vfs.refresh('');
    expect((await names(h.vfs, ROOT_INO)).sort()).toEqual(['notes.txt', kept!].sort());
    expect((await readFile(h.vfs, (await resolve(h.vfs, 'notes.txt')).ino)).toString()).toBe('v2 theirs');
    expect((await readFile(h.vfs, (await resolve(h.vfs, kept!)).ino)).toString()).toBe('v2 ours, edited offline');
  });

  it('keeps both when another writer created the same name before our first upload', async () => {
    const backend = new MemoryDriver();
    const h = await openHarness(backend, { writeBack: { delay: 30 } });
    harnesses.push(h);
    await h.vfs.readdir(ROOT_INO);
    await write(h.vfs, 'notes.txt', 'ours');
    await backend.write('notes.txt', Buffer.from('theirs'));
    await h.vfs.sync();
    const keys = (await backend.list('', { recursive: true })).entries.map((e) => e.path);
    expect(keys.filter((k) => conflictName.test(k))).toHaveLength(1);
    expect((await readObject(backend, 'notes.txt')).toString()).toBe('theirs');
  });

  // An upload that landed but whose record a crash lost looks like this on a backend without metadata:
  // an object the index never saw, with exactly our bytes. Identical bytes are never a conflict.
  it('takes an object with exactly our bytes for ours: no conflict copy', async () => {
    const backend = new MemoryDriver();
    const h = await openHarness(backend, { writeBack: { delay: 30 } });
    harnesses.push(h);
    await h.vfs.readdir(ROOT_INO);
    await write(h.vfs, 'notes.txt', 'ours, uploaded before a crash');
    await backend.write('notes.txt', Buffer.from('ours, uploaded before a crash')); // no storaged-origin metadata
    await h.vfs.sync();
    const keys = (await backend.list('', { recursive: true })).entries.map((e) => e.path);
    expect(keys).toEqual(['notes.txt']);
    expect((await readObject(backend, 'notes.txt')).toString()).toBe('ours, uploaded before a crash');
  });

  // A crash cut our upload short on a backend that writes objects in place (s3rver): an empty or partial object,
  // without metadata. Replacing an object whose bytes are a prefix of ours loses nothing.
  for (const [what, remote] of [
    ['an empty object', ''],
    ['a prefix of our bytes', 'ours, cut'],
  ] as const) {
    it(`takes ${what} for a torn upload of ours: no conflict copy`, async () => {
      const backend = new MemoryDriver();
      const h = await openHarness(backend, { writeBack: { delay: 30 } });
      harnesses.push(h);
      await h.vfs.readdir(ROOT_INO);
      await write(h.vfs, 'notes.txt', 'ours, cut short by a crash');
      await backend.write('notes.txt', Buffer.from(remote));
      await h.vfs.sync();
      const keys = (await backend.list('', { recursive: true })).entries.map((e) => e.path);
      expect(keys).toEqual(['notes.txt']);
      expect((await readObject(backend, 'notes.txt')).toString()).toBe('ours, cut short by a crash');
    });
  }

  it('keeps both when a shorter object is not a prefix of ours', async () => {
    const backend = new MemoryDriver();
    const h = await openHarness(backend, { writeBack: { delay: 30 } });
    harnesses.push(h);
    await h.vfs.readdir(ROOT_INO);
    await write(h.vfs, 'notes.txt', 'ours, a longer text');
    await backend.write('notes.txt', Buffer.from('theirs'));
    await h.vfs.sync();
    const keys = (await backend.list('', { recursive: true })).entries.map((e) => e.path);
    expect(keys.filter((k) => conflictName.test(k))).toHaveLength(1);
    expect((await readObject(backend, 'notes.txt')).toString()).toBe('theirs');
  });

  it('overwrites without a conflict when the backend still has the version we saw', async () => {
    const backend = new MemoryDriver();
    const h = await openHarness(backend, { writeBack: { delay: 30 } });
    harnesses.push(h);
    await write(h.vfs, 'notes.txt', 'v1');
    await h.vfs.sync();
    await write(h.vfs, 'notes.txt', 'v2');
    await h.vfs.sync();
    const keys = (await backend.list('', { recursive: true })).entries.map((e) => e.path);
    expect(keys).toEqual(['notes.txt']);
    expect((await readObject(backend, 'notes.txt')).toString()).toBe('v2');
  });
});

// On s3 the backend's checksum of a single-part object is its md5 (the ETag): the local prefix is digested the same way.
describe('a torn upload on s3rver', () => {
  let server: S3rver;
  beforeAll(async () => {
    server = await startS3rver();
  }, 60_000);
  afterAll(async () => {
    await server?.stop();
  });

  it('takes a partial object without metadata (what s3rver leaves when a PUT is cut) for ours', async () => {
    const bucket = await server.createBucket();
    const backend = createS3Driver(s3rverDiskConfig(server, bucket), { diskName: 's3' }, S3RVER_OVERRIDES);
    const h = await openHarness(backend, { writeBack: { delay: 30 } });
    harnesses.push(h);
    await h.vfs.readdir(ROOT_INO);
    const ours = 'ours, cut short by a crash: '.repeat(100);
    await write(h.vfs, 'notes.txt', ours);
    await s3rverClient(server.endpoint).send(new PutObjectCommand({ Bucket: bucket, Key: 'notes.txt', Body: ours.slice(0, 1000) }));
    await h.vfs.sync();
    const keys = (await backend.list('', { recursive: true })).entries.map((e) => e.path);
    expect(keys).toEqual(['notes.txt']);
    expect((await readObject(backend, 'notes.txt')).toString()).toBe(ours);
  });
});
