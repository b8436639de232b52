import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { HeadObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createS3Driver, type S3DriverOverrides } from '../../src/drivers/s3/index.js';
import { createS3Client } from '../../src/drivers/s3/client.js';
import { resolveS3Settings } from '../../src/drivers/s3/settings.js';
import type { StorageDriver } from '../../src/drivers/types.js';
import { s3rverDiskConfig, startS3rver, type S3rver } from '../support/servers/s3rver.js';

/** POSIX attributes as a deduplicating copy gives them. */
const ATTRIBUTES = { 'storaged-mode': '33188', 'storaged-uid': '1000', 'storaged-gid': '100', 'storaged-mtime-ns': '1700000000123456789' };

/**
 * The s3 copy paths with replacement metadata (copy(from, to, { metadata })),
 * on s3rver: CopyObject with MetadataDirective REPLACE keeps the source's
 * content headers, the streaming fallbacks write the given metadata, and the
 * replaceCopyKeepsOldEtag override works around s3rver's stale ETag.
 */
describe('s3 copy with replacement metadata (s3rver)', () => {
  let server: S3rver;
  const drivers: StorageDriver[] = [];
  const clients: S3Client[] = [];
  const open = async (overrides: S3DriverOverrides): Promise<{ driver: StorageDriver; client: S3Client; bucket: string }> => {
    const bucket = await server.createBucket();
    const config = s3rverDiskConfig(server, bucket);
    const driver = createS3Driver(config, { diskName: 's3-copy' }, { acl: false, ...overrides });
    const client = createS3Client(resolveS3Settings(config, 's3-copy-raw'));
    drivers.push(driver);
    clients.push(client);
    return { driver, client, bucket };
  };

  beforeAll(async () => {
    server = await startS3rver();
  });
  afterAll(async () => {
    await Promise.all(drivers.map((d) => d.close()));
    for (const client of clients) client.destroy();
    await server?.stop();
  });

  it("a REPLACE copy repeats the source's content headers (type, encoding, language, disposition, cache-control)", async () => {
    const { driver, client, bucket } = await open({});
    const headers = {
      ContentType: 'text/x-kept',
      ContentEncoding: 'identity',
      ContentLanguage: 'fr',
      ContentDisposition: 'attachment; filename="kept.txt"',
      CacheControl: 'max-age=60',
    };
    await client.send(new PutObjectCommand({ Bucket: bucket, Key: 'src.txt', Body: 'headers', Metadata: { old: 'yes' }, ...headers }));
    await driver.copy('src.txt', 'dst.txt', { metadata: ATTRIBUTES });
    const head = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: 'dst.txt' }));
    expect(head).toMatchObject(headers);
    expect(head.Metadata).toEqual(ATTRIBUTES);
    expect((await readAll(await driver.read('dst.txt'))).toString()).toBe('headers');
  });

  it("copies keys s3rver's copy-source decoding cannot name ('#', '+') with the given metadata (streaming fallback)", async () => {
    const { driver } = await open({});
    await driver.write('odd #1+2.txt', Buffer.from('odd name'), { mimeType: 'text/x-odd', metadata: { owner: 'ann' } });
    await driver.copy('odd #1+2.txt', 'copied #1+2.txt', { metadata: ATTRIBUTES });
    const copy = await driver.stat('copied #1+2.txt');
    expect(copy.mimeType).toBe('text/x-odd');
    expect(copy.metadata).toEqual(ATTRIBUTES);
    expect((await readAll(await driver.read('copied #1+2.txt'))).toString()).toBe('odd name');
    await driver.copy('odd #1+2.txt', 'odd #1+2.txt', { metadata: { owner: 'bob' } }); // onto itself, streamed
    expect((await driver.stat('odd #1+2.txt')).metadata).toEqual({ owner: 'bob' });
    expect((await readAll(await driver.read('odd #1+2.txt'))).toString()).toBe('odd name');
  });

  it('refuses metadata S3 would not keep unchanged with EINVAL, before copying', async () => {
    const { driver } = await open({});
    await driver.write('m.txt', Buffer.from('x'));
    await expect(driver.copy('m.txt', 'n.txt', { metadata: { 'bad name': 'x' } })).rejects.toMatchObject({ code: 'EINVAL' });
    await expect(driver.copy('m.txt', 'n.txt', { metadata: { name: 'é' } })).rejects.toMatchObject({ code: 'EINVAL' });
    await expect(driver.stat('n.txt')).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it("s3rver's REPLACE copy onto an existing key keeps the old ETag; replaceCopyKeepsOldEtag streams such copies instead", async () => {
    const plain = (await open({})).driver;
    const fixed = (await open({ replaceCopyKeepsOldEtag: true })).driver;
    for (const driver of [plain, fixed]) {
      await driver.write('src.txt', Buffer.from('new bytes'));
      await driver.write('dst.txt', Buffer.from('old and longer content'));
      await driver.copy('src.txt', 'dst.txt', { metadata: ATTRIBUTES });
      expect((await readAll(await driver.read('dst.txt'))).toString()).toBe('new bytes');
      expect((await driver.stat('dst.txt')).metadata).toEqual(ATTRIBUTES);
    }
    // The emulator's bug, declared: the copy's bytes are new but its ETag is the overwritten object's MD5.
    expect((await plain.checksum('dst.txt')).hex).toBe(md5('old and longer content'));
    expect((await fixed.checksum('dst.txt')).hex).toBe(md5('new bytes'));
  });
});


function md5(text: string): string {
  return createHash('md5').update(text).digest('hex');
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
