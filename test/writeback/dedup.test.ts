import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/core/config/loader.js';
import { createLogger } from '../../src/core/logger.js';
import { createDiskVfs } from '../../src/daemon/index.js';
import { ROOT_INO, type Vfs } from '../../src/daemon/vfs/types.js';
import { createDriver } from '../../src/drivers/registry.js';
import type { StorageDriver } from '../../src/drivers/types.js';
import { countingDriver, type CallCounts } from '../daemon/vfs/support.js';
import { S3RVER_KEY, S3RVER_SECRET, startS3rver, type S3rver } from '../support/servers/s3rver.js';

/**
 * Issue 4's deduplication on a real S3 server: content the disk already
 * holds is not uploaded again; the new object is a server-side copy carrying
 * its own POSIX metadata. Uploads of the same content at the same time wait
 * for the first and copy it. A source changed behind our back is not copied.
 */

const ROOT = { uid: 0, gid: 0, pid: 1 };
const MIB = 2 ** 20;

let s3: S3rver;
let work: string;
let raw: StorageDriver;
let driver: StorageDriver;
let counts: CallCounts;
let vfs: Vfs;

beforeAll(async () => {
  s3 = await startS3rver();
  const bucket = await s3.createBucket();
  work = await mkdtemp(join(tmpdir(), 'storaged-dedup-'));
  const config = parseConfig(
    `cache: { dir: ${join(work, 'cache')}, max_size: 1GiB }\nwrite_back: { delay: 0.2 }\n` +
      `disks:\n  s3: { driver: s3, bucket: ${bucket}, endpoint: ${s3.endpoint}, path_style: true, acl: false, key: ${S3RVER_KEY}, secret: ${S3RVER_SECRET} }\n`,
    join(work, 'config.yaml'),
    work,
    {},
  );
  raw = await createDriver(config.disks.s3!, { diskName: 's3' });
  ({ driver, counts } = countingDriver(raw));

  vfs = await createDiskVfs({ diskName: 's3', driver, config, logger: createLogger('dedup-test', 'silent'), uid: 0, gid: 0 });
}, 60_000);

afterAll(async () => {
  await vfs?.close();
  await raw?.close();
  await s3?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

async function writeFile(name: string, data: Buffer, mode = 0o644): Promise<void> {
  const { fh } = await vfs.create(ROOT_INO, name, mode, { flags: constants.O_WRONLY }, ROOT);
  for (let at = 0; at < data.length; at += 128 * 1024) await vfs.write(fh, at, data.subarray(at, at + 128 * 1024));
  await vfs.flush(fh);
  await vfs.release(fh);
}

async function objectBytes(key: string): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of await raw.read(key)) parts.push(Buffer.from(chunk as Uint8Array));
  return Buffer.concat(parts);
}

describe('upload deduplication (s3rver)', () => {
  it('creates a file whose content the disk holds by a server-side copy with its own metadata', async () => {
    const data = randomBytes(3 * MIB);
    await writeFile('original.bin', data, 0o644);
    await vfs.sync();
    counts.reset();
    await writeFile('again.bin', data, 0o600);
    await vfs.sync();
    expect(counts.calls.get('write') ?? 0).toBe(0);
    expect(counts.calls.get('copy')).toBe(1);
    expect((await objectBytes('again.bin')).equals(data)).toBe(true);
    expect((await raw.stat('again.bin')).metadata?.['storaged-mode']).toBe((constants.S_IFREG | 0o600).toString(8));
    expect((await raw.stat('original.bin')).metadata?.['storaged-mode']).toBe((constants.S_IFREG | 0o644).toString(8));
    expect(vfs.status().dedup).toMatchObject({ files: 1, bytesSaved: 3 * MIB });
  }, 60_000);

  it('uploads content written ten times at once only once', async () => {
    const data = randomBytes(2 * MIB);
    counts.reset();
    const before = vfs.status().dedup;
    for (let i = 0; i < 10; i++) await writeFile(`ten-${i}.bin`, data);
    await vfs.sync();
    expect(counts.calls.get('write')).toBe(1);
    expect(counts.calls.get('copy')).toBe(9);
    for (let i = 0; i < 10; i++) expect((await objectBytes(`ten-${i}.bin`)).equals(data)).toBe(true);
    const after = vfs.status().dedup;
    expect(after.files - before.files).toBe(9);
    expect(after.bytesSaved - before.bytesSaved).toBe(18 * MIB);
  }, 60_000);

  it('does not copy a source another writer replaced: the bytes are uploaded', async () => {
    const data = randomBytes(MIB);
    await writeFile('source.bin', data);
    await vfs.sync();
    // Another tool overwrites the source with other bytes of the same size; the index still believes the old ones.
    await raw.write('source.bin', randomBytes(MIB));
    counts.reset();
    await writeFile('copy.bin', data);
    await vfs.sync();
    expect(counts.calls.get('copy') ?? 0).toBe(0);
    expect(counts.calls.get('write')).toBe(1);
    expect((await objectBytes('copy.bin')).equals(data)).toBe(true);
  }, 60_000);

  it('uploads small files as they are', async () => {
    const data = randomBytes(1000);
    await writeFile('small-a', data);
    await vfs.sync();
    counts.reset();
    await writeFile('small-b', data);
    await vfs.sync();
    expect(counts.calls.get('copy') ?? 0).toBe(0);
    expect(counts.calls.get('write')).toBe(1);
  }, 60_000);
});
