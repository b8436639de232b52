import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { s3DiskSchema, type S3DiskConfig } from '../../src/core/config/schema.js';
import { FsError } from '../../src/core/errors.js';
import { createS3Driver } from '../../src/drivers/s3/index.js';
import { S3Adapter } from '../../src/drivers/s3/adapter.js';
import { createS3Client } from '../../src/drivers/s3/client.js';
import { decodeListing } from '../../src/drivers/s3/listing.js';
import { ALL_USERS_URI, visibilityFromGrants } from '../../src/drivers/s3/acl.js';
import { resolveS3Settings } from '../../src/drivers/s3/settings.js';
import { s3PublicUrl } from '../../src/drivers/s3/urls.js';
import type { StorageDriver } from '../../src/drivers/types.js';
import { describeConformance, type ConformanceFixture } from '../conformance/index.js';
import { freePort } from '../support/process.js';
import {
  S3RVER_OVERRIDES,
  S3RVER_RACING_OVERWRITES,
  s3rverDiskConfig,
  startS3rver,
  type S3rver,
} from '../support/servers/s3rver.js';

function s3rverConfig(server: S3rver, bucket: string, extra: Partial<S3DiskConfig> = {}): S3DiskConfig {
  return s3rverDiskConfig(server, bucket, extra);
}

let conformanceServer: S3rver | undefined;
const fixture: ConformanceFixture = {
  name: 's3 (s3rver)',
  racingOverwritesSkipReason: S3RVER_RACING_OVERWRITES,
  async start() {
    conformanceServer = await startS3rver();
  },
  async stop() {
    await conformanceServer?.stop();
  },
  async createDriver() {
    if (!conformanceServer) throw new Error('s3rver not started');
    const bucket = await conformanceServer.createBucket();
    return createS3Driver(s3rverConfig(conformanceServer, bucket), { diskName: 'conformance' }, S3RVER_OVERRIDES);
  },
  async interrupt() {
    if (!conformanceServer) throw new Error('s3rver not started');
    return conformanceServer.interrupt();
  },
};

describeConformance(fixture);

describe('s3 driver on s3rver: specifics', () => {
  let server: S3rver;
  const drivers: StorageDriver[] = [];
  const open = async (extra: Partial<S3DiskConfig> = {}, bucket?: string): Promise<StorageDriver> => {
    const driver = createS3Driver(s3rverConfig(server, bucket ?? (await server.createBucket()), extra), { diskName: 'specifics' }, S3RVER_OVERRIDES);
    drivers.push(driver);
    return driver;
  };

  beforeAll(async () => {
    server = await startS3rver({ logRequests: true });
  });
  afterAll(async () => {
    await Promise.all(drivers.map((d) => d.close()));
    await server?.stop();
  });

  it('stores a streamed body byte for byte (no aws-chunked framing inside the object)', async () => {
    const driver = await open();
    const body = randomBytes(1000);
    await driver.write('chunked.bin', Readable.from([body.subarray(0, 300), body.subarray(300)]));
    expect((await driver.stat('chunked.bin')).size).toBe(1000);
    const back = await readAll(await driver.read('chunked.bin'));
    expect(back.length).toBe(1000);
    expect(sha256(back)).toBe(sha256(body));
    // What the server itself serves, bypassing the SDK.
    const raw = Buffer.from(await (await fetch(driver.url('chunked.bin'))).arrayBuffer());
    expect(raw.length).toBe(1000);
    expect(sha256(raw)).toBe(sha256(body));
  });

  it("the driver's client sends a stream PutObject unframed (the SDK default would store aws-chunked framing)", async () => {
    // Upload buffers each part, so the driver never hands PutObject a stream; the client must still be safe when it does.
    const bucket = await server.createBucket();
    const client = createS3Client(resolveS3Settings(s3rverConfig(server, bucket), 'raw'));
    const body = randomBytes(1000);
    await client.send(new PutObjectCommand({ Bucket: bucket, Key: 'raw.bin', Body: Readable.from([body.subarray(0, 500), body.subarray(500)]), ContentLength: 1000 }));
    client.destroy();
    const raw = Buffer.from(await (await fetch(`${server.endpoint}/${bucket}/raw.bin`)).arrayBuffer());
    expect(raw.length).toBe(1000);
    expect(sha256(raw)).toBe(sha256(body));
  });

  it('uploads a 21 MiB stream in 5 MiB parts (multipart) and reads it back equal', async () => {
    const driver = await open({ part_size: '5MiB', upload_concurrency: 2 });
    const hash = createHash('sha256');
    const total = 21 * 2 ** 20;
    const result = await driver.write('big/multipart.bin', generated(total, 64 * 1024, hash));
    const expected = hash.digest('hex');
    expect(result.size).toBe(total);
    // The server's request log shows the five parts (s3rver gives multipart objects a plain MD5 ETag).
    expect(server.output()).toMatch(/\/big\/multipart\.bin\?partNumber=5&uploadId=/);
    expect(server.output()).not.toMatch(/\/big\/multipart\.bin\?partNumber=6&/);
    expect((await driver.stat('big/multipart.bin')).size).toBe(total);
    const back = createHash('sha256');
    for await (const chunk of await driver.read('big/multipart.bin')) back.update(chunk as Buffer);
    expect(back.digest('hex')).toBe(expected);
    // AWS gives multipart objects an 'md5-N' ETag (then the checksum is a sha256 of the bytes);
    // s3rver stores the whole object's MD5. Either way the digest must match the bytes.
    const sum = await driver.checksum('big/multipart.bin');
    if (sum.algorithm === 'sha256') expect(sum.hex).toBe(expected);
    else expect(sum.hex).toMatch(/^[0-9a-f]{32}$/);
  });

  it('reports the md5 of a single-part object as its checksum', async () => {
    const driver = await open();
    const body = randomBytes(4096);
    await driver.write('small.bin', body);
    expect(await driver.checksum('small.bin')).toEqual({ algorithm: 'md5', hex: createHash('md5').update(body).digest('hex') });
  });

  it('fails fast with ECONNREFUSED when nothing listens at the endpoint', async () => {
    const port = await freePort();
    const driver = createS3Driver(
      s3DiskSchema.parse({ driver: 's3', bucket: 'x', endpoint: `http://127.0.0.1:${port}`, path_style: true, key: 'k', secret: 's' }),
      { diskName: 'closed' },
    );
    drivers.push(driver);
    const started = Date.now();
    await expect(driver.stat('a.txt')).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    await expect(driver.write('a.txt', Readable.from([Buffer.from('x')]))).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('answers ENOENT, naming the bucket, when the bucket does not exist', async () => {
    const driver = await open({}, 'no-such-bucket');
    const write = await driver.write('a.txt', Buffer.from('x')).catch((e: unknown) => e);
    expect(write).toBeInstanceOf(FsError);
    expect((write as FsError).code).toBe('ENOENT');
    expect((write as FsError).message).toContain("bucket 'no-such-bucket'");
    await expect(driver.list('', { recursive: false })).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(driver.stat('a.txt')).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('answers EACCES for an access key the server does not know', async () => {
    const driver = await open({ key: 'NOBODY', secret: 'wrong' });
    await expect(driver.write('a.txt', Buffer.from('x'))).rejects.toMatchObject({ code: 'EACCES' });
    await expect(driver.list('', { recursive: true })).rejects.toMatchObject({ code: 'EACCES' });
  });

  it('deletes more than 1000 keys in batches (DeleteObjects takes 1000)', async () => {
    const bucket = await server.createBucket();
    const settings = resolveS3Settings(s3rverConfig(server, bucket), 'batch');
    const adapter = new S3Adapter(createS3Client(settings), { settings, acl: false });
    const keys = Array.from({ length: 2100 }, (_, i) => `k/${String(i).padStart(4, '0')}`);
    const present = [keys[0], keys[999], keys[1000], keys[2099]] as string[];
    for (const key of present) await adapter.put(key, Readable.from([Buffer.from(key)]), { mimeType: 'text/plain' });
    await adapter.deleteMany(keys);
    for (const key of present) expect(await adapter.head(key)).toBeNull();
    await adapter.deleteMany(present); // idempotent
    await adapter.close();
  });

  it('lists names with spaces, +, % and unicode exactly as written', async () => {
    const driver = await open();
    const names = ['a b.txt', 'a+b.txt', '100%.csv', '%41.txt', 'é.txt', 'e\u0301.txt', 'x/y z+%.txt'];
    for (const name of names) await driver.write(name, Buffer.from(name));
    const listed = (await driver.list('', { recursive: true })).entries.filter((e) => e.type === 'file').map((e) => e.path);
    expect(listed.sort()).toEqual([...names].sort());
    for (const name of names) expect((await readAll(await driver.read(name))).toString()).toBe(name);
  });

  it('gives a presigned PUT URL that uploads with fetch, and a GET URL that serves it', async () => {
    const driver = await open();
    const uploadUrl = await driver.temporaryUploadUrl('up/loaded.txt', { expiresIn: 60, mimeType: 'text/plain' });
    const put = await fetch(uploadUrl, { method: 'PUT', body: 'sent by fetch', headers: { 'content-type': 'text/plain' } });
    expect(put.status).toBe(200);
    const stat = await driver.stat('up/loaded.txt');
    expect(stat.size).toBe(13);
    expect(stat.mimeType).toBe('text/plain');
    const get = await fetch(await driver.temporaryUrl('up/loaded.txt', { expiresIn: 60 }));
    expect(await get.text()).toBe('sent by fetch');
  });

  it('s3rver refuses a presigned GET URL once it has expired', async () => {
    const driver = await open();
    await driver.write('expiring.txt', Buffer.from('soon gone'));
    const url = await driver.temporaryUrl('expiring.txt', { expiresIn: 1 });
    expect((await fetch(url)).status).toBe(200);
    await new Promise((r) => setTimeout(r, 2100));
    expect((await fetch(url)).status).toBe(403);
  });

  it("copies keys s3rver's copy-source decoding cannot name ('#', '+'), keeping type and metadata", async () => {
    const driver = await open();
    await driver.write('odd #1+2.txt', Buffer.from('odd name'), { mimeType: 'text/x-odd', metadata: { owner: 'ann' } });
    await driver.copy('odd #1+2.txt', 'copied #1+2.txt');
    const stat = await driver.stat('copied #1+2.txt');
    expect(stat.mimeType).toBe('text/x-odd');
    expect(stat.metadata).toEqual({ owner: 'ann' });
    expect((await readAll(await driver.read('copied #1+2.txt'))).toString()).toBe('odd name');
    await expect(driver.copy('missing #.txt', 'x.txt')).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('rejects metadata S3 would not keep unchanged with EINVAL, before any upload', async () => {
    const driver = await open();
    await expect(driver.write('m.txt', Buffer.from('x'), { metadata: { 'bad name': 'x' } })).rejects.toMatchObject({ code: 'EINVAL' });
    await expect(driver.write('m.txt', Buffer.from('x'), { metadata: { Tag: '1', tag: '2' } })).rejects.toMatchObject({ code: 'EINVAL' });
    await expect(driver.write('m.txt', Buffer.from('x'), { metadata: { name: 'é' } })).rejects.toMatchObject({ code: 'EINVAL' });
    await expect(driver.stat('m.txt')).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('serves files under a key prefix and keeps them inside it', async () => {
    const bucket = await server.createBucket();
    const scoped = await open({ prefix: '/tenants/a/' }, bucket);
    const whole = await open({}, bucket);
    await scoped.write('doc.txt', Buffer.from('tenant a'));
    expect((await readAll(await whole.read('tenants/a/doc.txt'))).toString()).toBe('tenant a');
    expect((await scoped.list('', { recursive: false })).entries.map((e) => e.path)).toEqual(['doc.txt']);
    expect(scoped.url('doc.txt')).toBe(`${server.endpoint}/${bucket}/tenants/a/doc.txt`);
  });

  it('with ACLs on, sends them on put and copy (s3rver accepts, stores none, and cannot set one later)', async () => {
    const driver = createS3Driver(s3rverConfig(server, await server.createBucket()), { diskName: 'acl' }, { acl: true });
    drivers.push(driver);
    expect(driver.capabilities.visibility).toBe(true);
    await driver.write('acl/public.txt', Buffer.from('p'), { visibility: 'public' });
    await driver.copy('acl/public.txt', 'acl/copy.txt'); // GetObjectAcl, then CopyObject with the ACL
    expect((await readAll(await driver.read('acl/copy.txt'))).toString()).toBe('p');
    // s3rver's GetObjectAcl is a stub (owner FULL_CONTROL only), hence acl off in the conformance fixture.
    expect(await driver.getVisibility('acl/public.txt')).toBe('private');
    await expect(driver.setVisibility('acl/public.txt', 'public')).rejects.toMatchObject({ code: 'ENOTSUP' });
  });

  it('aborts a write when its signal fires', async () => {
    const driver = await open();
    const controller = new AbortController();
    const endless = new Readable({ read() {} });
    endless.push(Buffer.alloc(1024));
    const pending = driver.write('aborted.bin', endless, { signal: controller.signal });
    setTimeout(() => controller.abort(), 50);
    await expect(pending).rejects.toMatchObject({ code: 'ECANCELED' });
    await expect(driver.stat('aborted.bin')).rejects.toMatchObject({ code: 'ENOENT' });
  });
});

describe('s3 driver: configuration and pure helpers', () => {
  const config = (extra: Record<string, unknown>) => s3DiskSchema.parse({ driver: 's3', bucket: 'b', ...extra });

  it('rejects bad options with EINVAL at creation', () => {
    for (const extra of [{ part_size: '1MiB' }, { part_size: '6GiB' }, { key: 'k' }, { secret: 's' }, { session_token: 't' }]) {
      expect(() => createS3Driver(config(extra), { diskName: 'bad' }), JSON.stringify(extra)).toThrow(
        expect.objectContaining({ code: 'EINVAL' }),
      );
    }
  });

  it('builds AWS and S3-compatible public URLs', () => {
    const aws = resolveS3Settings(config({ region: 'eu-west-3' }), 'd');
    expect(s3PublicUrl(aws, 'a b/c#.txt')).toBe('https://b.s3.eu-west-3.amazonaws.com/a%20b/c%23.txt');
    expect(s3PublicUrl({ ...aws, pathStyle: true }, 'k')).toBe('https://s3.eu-west-3.amazonaws.com/b/k');
    const spaces = resolveS3Settings(config({ endpoint: 'https://fra1.digitaloceanspaces.com/' }), 'd');
    expect(s3PublicUrl(spaces, 'k')).toBe('https://b.fra1.digitaloceanspaces.com/k');
    const minio = resolveS3Settings(config({ endpoint: 'http://127.0.0.1:9000', path_style: true }), 'd');
    expect(s3PublicUrl(minio, 'x/y')).toBe('http://127.0.0.1:9000/b/x/y');
  });

  it('decodes url-encoded listings (S3 form-encodes: + is a space) and keeps raw ones as they are', () => {
    const encoded = decodeListing({
      $metadata: {},
      EncodingType: 'url',
      IsTruncated: true,
      NextContinuationToken: 'next+token',
      Contents: [{ Key: 'a+b/100%25+sure%2B.txt', Size: 3 }, { Key: '%E6%97%A5.txt', Size: 1 }],
      CommonPrefixes: [{ Prefix: 'run+books/' }],
    });
    expect(encoded.objects.map((o) => o.key)).toEqual(['a b/100% sure+.txt', '日.txt']);
    expect(encoded.commonPrefixes).toEqual(['run books/']);
    expect(encoded.next).toBe('next+token');
    const raw = decodeListing({ $metadata: {}, Contents: [{ Key: 'a+b%41.txt' }, { Key: 'a/x' }, { Key: 'a.txt' }], IsTruncated: false });
    expect(raw.objects.map((o) => o.key)).toEqual(['a+b%41.txt', 'a.txt', 'a/x']); // byte order restored
    expect(raw.next).toBeUndefined();
  });

  it('reads visibility from ACL grants (AllUsers READ is public)', () => {
    expect(visibilityFromGrants([{ Grantee: { Type: 'Group', URI: ALL_USERS_URI }, Permission: 'READ' }])).toBe('public');
    expect(visibilityFromGrants([{ Grantee: { Type: 'CanonicalUser', ID: 'me' }, Permission: 'FULL_CONTROL' }])).toBe('private');
    expect(visibilityFromGrants(undefined)).toBe('private');
  });
});

function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** A stream of `total` pseudo-random bytes in `chunk`-sized pieces, hashed into `hash` as it is read. */
function generated(total: number, chunk: number, hash: ReturnType<typeof createHash>): Readable {
  let sent = 0;
  return new Readable({
    read() {
      if (sent >= total) return void this.push(null);
      const piece = randomBytes(Math.min(chunk, total - sent));
      sent += piece.length;
      hash.update(piece);
      this.push(piece);
    },
  });
}
