import { constants } from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { s3DiskSchema } from '../../../src/core/config/schema.js';
import { ROOT_INO } from '../../../src/daemon/vfs/types.js';
import { createS3Driver } from '../../../src/drivers/s3/index.js';
import type { StorageDriver } from '../../../src/drivers/types.js';
import { S3RVER_KEY, S3RVER_REGION, S3RVER_SECRET, startS3rver, type S3rver } from '../../support/servers/s3rver.js';
import { ALICE, codeOf, eventually, names, openHarness, RDWR, readFile, readObject, resolve, ROOT, writeFile, type Harness } from './support.js';

/** s3rver stores `<name>._S3rver_metadata.json` next to each object: names can have 233 bytes at most. */
const S3RVER_NAME_MAX = 255 - '._S3rver_metadata.json'.length;

describe('vfs on s3 (s3rver)', () => {
  let server: S3rver;
  const drivers: StorageDriver[] = [];
  const harnesses: Harness[] = [];

  const driverFor = (bucket: string): StorageDriver => {
    const config = s3DiskSchema.parse({
      driver: 's3', bucket, region: S3RVER_REGION, endpoint: server.endpoint, path_style: true, key: S3RVER_KEY, secret: S3RVER_SECRET, timeout: 20,
    });
    const driver = createS3Driver(config, { diskName: 'vfs' }, {
      acl: false,
      capabilities: { limits: { maxNameBytes: S3RVER_NAME_MAX, maxKeyBytes: 1024 } },
    });
    drivers.push(driver);
    return driver;
  };
  const open = async (bucket: string, refreshTtl?: number) => {
    const h = await openHarness(driverFor(bucket), refreshTtl !== undefined ? { refreshTtl } : {});
    harnesses.push(h);
    return h;
  };

  beforeAll(async () => {
    server = await startS3rver();
  });
  afterEach(async () => {
    await Promise.all(harnesses.splice(0).map((h) => h.close()));
  });
  afterAll(async () => {
    await Promise.all(drivers.map((d) => d.close()));
    await server?.stop();
  });

  it('create, write across blocks, release: the object holds the bytes; a cold VFS reads them back', async () => {
    const bucket = await server.createBucket();
    const h = await open(bucket);
    const data = Buffer.alloc(200 * 1024);
    for (let i = 0; i < data.length; i++) data[i] = (i * 13) & 0xff;
    const dir = await h.vfs.mkdir(ROOT_INO, 'dir', 0o755, ROOT);
    const attr = await writeFile(h.vfs, dir.ino, 'data.bin', data);
    expect(attr.size).toBe(data.length);
    await h.vfs.sync();
    const check = driverFor(bucket);
    expect((await readObject(check, 'dir/data.bin')).equals(data)).toBe(true);
    const other = await open(bucket);
    expect((await readFile(other.vfs, (await resolve(other.vfs, 'dir/data.bin')).ino)).equals(data)).toBe(true);
  });

  it('POSIX attributes and symlinks round-trip through object metadata to a VFS on another cache', async () => {
    const bucket = await server.createBucket();
    const a = await open(bucket);
    const dir = await a.vfs.mkdir(ROOT_INO, 'd', 0o755, ROOT);
    const file = await writeFile(a.vfs, dir.ino, 'f', 'attributes', ALICE, 0o640);
    await a.vfs.setattr(file.ino, { uid: 1234, gid: 5678 }, ROOT);
    const stamped = await a.vfs.setattr(file.ino, { mtime: 1_700_000_000_123_456_789n }, ROOT);
    await a.vfs.symlink(dir.ino, 'ln', 'f', ALICE);
    await a.vfs.sync();
    const b = await open(bucket);
    const seen = await resolve(b.vfs, 'd/f');
    expect(seen.mode).toBe(constants.S_IFREG | 0o640);
    expect([seen.uid, seen.gid]).toEqual([1234, 5678]);
    expect(seen.mtimeNs).toBe(stamped.mtimeNs);
    expect((await readFile(b.vfs, seen.ino)).toString()).toBe('attributes');
    const link = await resolve(b.vfs, 'd/ln');
    expect(link.type).toBe('symlink');
    expect([link.uid, link.gid]).toEqual([ALICE.uid, ALICE.gid]);
    expect(await b.vfs.readlink(link.ino)).toBe('f');
  });

  it('rename of a file over another and of a directory tree move the objects', async () => {
    const bucket = await server.createBucket();
    const h = await open(bucket);
    const check = driverFor(bucket);
    const src = await h.vfs.mkdir(ROOT_INO, 'src', 0o755, ROOT);
    const sub = await h.vfs.mkdir(src.ino, 'sub', 0o755, ROOT);
    await writeFile(h.vfs, src.ino, 'a', 'A');
    await writeFile(h.vfs, src.ino, 'b', 'B');
    await writeFile(h.vfs, sub.ino, 'c', 'C');
    await h.vfs.rename(src.ino, 'a', src.ino, 'b');
    await h.vfs.sync();
    expect((await readObject(check, 'src/b')).toString()).toBe('A');
    await h.vfs.rename(ROOT_INO, 'src', ROOT_INO, 'dst');
    await h.vfs.sync();
    const listed = (await check.list('', { recursive: true })).entries.map((e) => e.path).sort();
    expect(listed).toEqual(['dst', 'dst/b', 'dst/sub', 'dst/sub/c']);
    expect(await names(h.vfs, (await resolve(h.vfs, 'dst')).ino)).toEqual(['b', 'sub']);
    expect((await readFile(h.vfs, (await resolve(h.vfs, 'dst/sub/c')).ino)).toString()).toBe('C');
  });

  it('objects written by another tool appear after the TTL, with the attributes their metadata holds', async () => {
    const bucket = await server.createBucket();
    const h = await open(bucket, 0.3);
    const check = driverFor(bucket);
    expect(await names(h.vfs, ROOT_INO)).toEqual([]);
    const ours = await writeFile(h.vfs, ROOT_INO, 'ours.txt', 'mine', ALICE, 0o604);
    await h.vfs.sync();
    await check.write('elsewhere.txt', Buffer.from('hello'), { metadata: { 'storaged-mode': '100600', 'storaged-uid': '77' } });
    await new Promise((r) => setTimeout(r, 350));
    h.counts.reset();
    await eventually(async () => expect(await names(h.vfs, ROOT_INO)).toEqual(['elsewhere.txt', 'ours.txt']));
    const attr = await h.vfs.lookup(ROOT_INO, 'elsewhere.txt');
    expect([attr.mode, attr.uid, attr.size]).toEqual([constants.S_IFREG | 0o600, 77, 5]);
    // S3 listings carry no metadata: only the new object was stat'ed; ours kept its attributes (same ETag).
    expect(h.counts.calls.get('stat')).toBe(1);
    expect(await h.vfs.lookup(ROOT_INO, 'ours.txt')).toEqual(ours);
  });

  it("names longer than the backend allows are ENAMETOOLONG before anything is stored", async () => {
    const bucket = await server.createBucket();
    const h = await open(bucket);
    expect(await codeOf(h.vfs.create(ROOT_INO, 'n'.repeat(S3RVER_NAME_MAX + 1), 0o644, RDWR, ROOT))).toBe('ENAMETOOLONG');
    await writeFile(h.vfs, ROOT_INO, 'n'.repeat(S3RVER_NAME_MAX), 'fits');
    await h.vfs.sync();
    expect((await readObject(driverFor(bucket), 'n'.repeat(S3RVER_NAME_MAX))).toString()).toBe('fits');
    expect(await names(h.vfs, ROOT_INO)).toEqual(['n'.repeat(S3RVER_NAME_MAX)]);
  });
});
