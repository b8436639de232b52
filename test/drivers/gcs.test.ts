import { createHash, randomBytes } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gcsDiskSchema, type GcsDiskConfig } from '../../src/core/config/schema.js';
import { FsError } from '../../src/core/errors.js';
import { createGcsDriver } from '../../src/drivers/gcs/index.js';
import { mapGcsError } from '../../src/drivers/gcs/errors.js';
import { encodeGcsCursor, mergePage } from '../../src/drivers/gcs/listing.js';
import type { StorageDriver } from '../../src/drivers/types.js';
import { describeConformance, type ConformanceFixture } from '../conformance/index.js';
import { freePort } from '../support/process.js';
import { startGcsEmulator, type GcsEmulator } from '../support/servers/gcs-emulator.js';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.js';

/**
 * The firebase-tools storage emulator, as the gcs driver sees it through an
 * http endpoint (emulator mode, see src/drivers/gcs/client.ts):
 * - its object ACL routes accept and ignore, and cannot be read back:
 *   capabilities.visibility is off;
 * - it serves `<endpoint>/<bucket>/<key>` without auth (publicUrl on), and
 *   serves a v4 signed GET URL without checking signature or expiry
 *   (temporaryUrlExpiryEnforced off); it has no route for a signed PUT
 *   (temporaryUploadUrl off);
 * - no bucket creation (a bucket exists once used: a fresh name per driver);
 * - it keeps data in memory, so an outage is a cut TCP proxy in front of it,
 *   not a restart.
 */
let bucketCounter = 0;
function freshBucket(): string {
  return `t${++bucketCounter}-${randomBytes(4).toString('hex')}`;
}

function gcsConfig(endpoint: string, emulator: GcsEmulator, extra: Partial<GcsDiskConfig> = {}): GcsDiskConfig {
  return gcsDiskSchema.parse({
    driver: 'gcs',
    bucket: freshBucket(),
    endpoint,
    key_file: emulator.keyFile,
    project_id: emulator.projectId,
    timeout: 10,
    ...extra,
  });
}

let conformanceEmulator: GcsEmulator | undefined;
let conformanceProxy: TcpProxy | undefined;
const fixture: ConformanceFixture = {
  name: 'gcs (firebase storage emulator)',
  async start() {
    conformanceEmulator = await startGcsEmulator();
    conformanceProxy = await startTcpProxy(await freePort(), conformanceEmulator.port);
  },
  async stop() {
    await conformanceProxy?.close();
    await conformanceEmulator?.stop();
  },
  async createDriver() {
    if (!conformanceEmulator || !conformanceProxy) throw new Error('gcs emulator not started');
    return createGcsDriver(gcsConfig(`http://127.0.0.1:${conformanceProxy.port}`, conformanceEmulator), { diskName: 'conformance' });
  },
  async interrupt() {
    const proxy = conformanceProxy;
    if (!proxy) throw new Error('gcs emulator not started');
    await proxy.cut();
    return () => proxy.restore();
  },
};

describeConformance(fixture);

describe('gcs driver on the firebase storage emulator: specifics', () => {
  let emulator: GcsEmulator;
  const drivers: StorageDriver[] = [];
  const open = (extra: Partial<GcsDiskConfig> = {}): StorageDriver => {
    const driver = createGcsDriver(gcsConfig(emulator.endpoint, emulator, extra), { diskName: 'specifics' });
    drivers.push(driver);
    return driver;
  };

  beforeAll(async () => {
    emulator = await startGcsEmulator({ logUploads: true });
  });
  afterAll(async () => {
    await Promise.all(drivers.map((d) => d.close()));
    await emulator?.stop();
  });

  it('declares what the emulator can and cannot do', () => {
    const caps = open().capabilities;
    expect(caps).toMatchObject({
      visibility: false,
      metadata: true,
      publicUrl: true,
      temporaryUrl: true,
      temporaryUrlExpiryEnforced: false,
      temporaryUrlSignatureEnforced: false,
      temporaryUploadUrl: false,
      nativeChecksum: 'md5',
      serverSideCopy: true,
    });
  });

  it('fails fast with ECONNREFUSED when nothing listens at the endpoint', async () => {
    const port = await freePort();
    const driver = open({ endpoint: `http://127.0.0.1:${port}` });
    const started = Date.now();
    await expect(driver.stat('a.txt')).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    await expect(driver.write('a.txt', Buffer.from('x'))).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    await expect(driver.write('big.bin', Readable.from([randomBytes(3 * 2 ** 20)]))).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    await expect(driver.list('', { recursive: true })).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('times out with ETIMEDOUT when the endpoint accepts but never answers', async () => {
    const silent = await startSilentServer();
    try {
      const driver = open({ endpoint: `http://127.0.0.1:${silent.port}`, timeout: 1 });
      const started = Date.now();
      await expect(driver.stat('a.txt')).rejects.toMatchObject({ code: 'ETIMEDOUT' });
      expect(Date.now() - started).toBeLessThan(15_000);
    } finally {
      await silent.close();
    }
  });

  it('does not depend on STORAGE_EMULATOR_HOST: the configured endpoint wins, copy and metadata work', async () => {
    const saved = process.env.STORAGE_EMULATOR_HOST;
    process.env.STORAGE_EMULATOR_HOST = `http://127.0.0.1:${await freePort()}`; // a dead address
    let driver: StorageDriver;
    try {
      driver = open();
    } finally {
      if (saved === undefined) delete process.env.STORAGE_EMULATOR_HOST;
      else process.env.STORAGE_EMULATOR_HOST = saved;
    }
    await driver.write('env/a.txt', Buffer.from('a'), { metadata: { k: 'v' } });
    await driver.copy('env/a.txt', 'env/b.txt'); // the emulator answers 501 on /storage/v1/... copy paths
    expect((await driver.stat('env/b.txt')).metadata).toEqual({ k: 'v' });
  });

  it('reports the md5 of the stored bytes (md5Hash, base64 → hex) and the generation as etag', async () => {
    const driver = open();
    const body = randomBytes(4096);
    const written = await driver.write('sum/small.bin', body);
    expect(await driver.checksum('sum/small.bin')).toEqual({ algorithm: 'md5', hex: createHash('md5').update(body).digest('hex') });
    const stat = await driver.stat('sum/small.bin');
    expect(stat.etag).toMatch(/^\d+$/);
    expect(written.etag).toBe(stat.etag);
    await new Promise((r) => setTimeout(r, 5)); // the emulator's generation is Date.now()
    await driver.write('sum/small.bin', Buffer.from('other'));
    expect((await driver.stat('sum/small.bin')).etag).not.toBe(stat.etag);
    await expect(driver.checksum('sum/missing.bin')).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('uploads a 20 MiB stream of unknown size through a resumable session, and small bodies in one request', async () => {
    const driver = open();
    const total = 20 * 2 ** 20;
    const md5 = createHash('md5');
    const result = await driver.write('big/resumable.bin', generated(total, 256 * 1024, md5));
    const expected = md5.digest('hex');
    expect(result.size).toBe(total);
    await driver.write('big/small.txt', Buffer.from('one request'));
    // The emulator logs each upload on its stdout, which can reach us a moment after its HTTP answer.
    await expect.poll(() => emulator.process.output(), { timeout: 5000 }).toMatch(/upload multipart t\d+-[0-9a-f]+\/big\/small\.txt/);
    const log = emulator.process.output();
    expect(log).toMatch(/upload resumable t\d+-[0-9a-f]+\/big\/resumable\.bin/);
    expect(log).not.toMatch(/upload multipart t\d+-[0-9a-f]+\/big\/resumable\.bin/);
    expect((await driver.stat('big/resumable.bin')).size).toBe(total);
    expect(await driver.checksum('big/resumable.bin')).toEqual({ algorithm: 'md5', hex: expected });
    const back = createHash('md5');
    for await (const chunk of await driver.read('big/resumable.bin')) back.update(chunk as Buffer);
    expect(back.digest('hex')).toBe(expected);
  });

  it('leaves no object behind when the body breaks, on both upload paths', async () => {
    const driver = open();
    await expect(driver.write('broken/small.bin', breaking(1024))).rejects.toBeInstanceOf(FsError);
    await expect(driver.write('broken/large.bin', breaking(3 * 2 ** 20))).rejects.toBeInstanceOf(FsError);
    await expect(driver.stat('broken/small.bin')).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(driver.stat('broken/large.bin')).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('aborts a write when its signal fires', async () => {
    const driver = open();
    const controller = new AbortController();
    const endless = new Readable({ read() {} });
    endless.push(Buffer.alloc(1024));
    const pending = driver.write('aborted.bin', endless, { signal: controller.signal });
    setTimeout(() => controller.abort(), 50);
    await expect(pending).rejects.toMatchObject({ code: 'ECANCELED' });
    await expect(driver.stat('aborted.bin')).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('pages a folder whose subfolders outnumber the page size (the emulator repeats every prefix on every page)', async () => {
    const driver = open();
    const folders = ['d/a', 'd/c', 'd/e', 'd/g', 'd/i'];
    const files = ['d/b.txt', 'd/f.txt', 'd/z.txt'];
    for (const f of folders) await driver.write(`${f}/x.txt`, Buffer.from(f));
    for (const f of files) await driver.write(f, Buffer.from(f));
    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await driver.list('d', { recursive: false, pageSize: 2, cursor });
      expect(page.entries.length).toBeLessThanOrEqual(2);
      seen.push(...page.entries.map((e) => `${e.type}:${e.path}`));
      cursor = page.cursor;
      expect(++pages).toBeLessThan(20);
    } while (cursor !== undefined);
    const expected = [...folders.map((f) => ({ path: f, type: 'directory' })), ...files.map((f) => ({ path: f, type: 'file' }))]
      .sort((a, b) => (a.path < b.path ? -1 : 1))
      .map((e) => `${e.type}:${e.path}`);
    expect(seen).toEqual(expected); // in path order across pages, each once
  });

  it('copies and moves on the server, keeping content type and metadata', async () => {
    const driver = open();
    await driver.write('odd #1+2.txt', Buffer.from('odd name'), { mimeType: 'text/x-odd', metadata: { owner: 'ann' } });
    await driver.copy('odd #1+2.txt', 'copied/odd #1+2.txt');
    const stat = await driver.stat('copied/odd #1+2.txt');
    expect(stat.mimeType).toBe('text/x-odd');
    expect(stat.metadata).toEqual({ owner: 'ann' });
    await driver.move('copied/odd #1+2.txt', 'moved.txt');
    expect((await driver.stat('moved.txt')).metadata).toEqual({ owner: 'ann' });
    await expect(driver.stat('copied/odd #1+2.txt')).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(driver.copy('missing.txt', 'x.txt')).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('serves a v4 signed GET URL, but the emulator checks neither expiry nor signature (hence expiry not enforced)', async () => {
    const driver = open();
    await driver.write('signed.txt', Buffer.from('signed bytes'));
    const url = await driver.temporaryUrl('signed.txt', { expiresIn: 1 });
    expect(new URL(url).searchParams.get('X-Goog-Algorithm')).toBe('GOOG4-RSA-SHA256');
    expect(await (await fetch(url)).text()).toBe('signed bytes');
    await new Promise((r) => setTimeout(r, 2100));
    // If this starts failing, the emulator enforces expiry: turn temporaryUrlExpiryEnforced on for it.
    expect((await fetch(url)).status).toBe(200);
    await expect(driver.temporaryUploadUrl('signed.txt', { expiresIn: 60 })).rejects.toMatchObject({ code: 'ENOTSUP' });
  });

  it('has no readable ACLs on the emulator: visibility calls answer ENOTSUP', async () => {
    const driver = open();
    await driver.write('v.txt', Buffer.from('v'));
    await expect(driver.getVisibility('v.txt')).rejects.toMatchObject({ code: 'ENOTSUP' });
    await expect(driver.setVisibility('v.txt', 'public')).rejects.toMatchObject({ code: 'ENOTSUP' });
  });

  it('serves files under a key prefix and keeps them inside it', async () => {
    const bucket = freshBucket();
    const scoped = open({ bucket, prefix: '/tenants/a/' });
    const whole = open({ bucket });
    await scoped.write('doc.txt', Buffer.from('tenant a'));
    expect(await text(await whole.read('tenants/a/doc.txt'))).toBe('tenant a');
    expect((await scoped.list('', { recursive: false })).entries.map((e) => e.path)).toEqual(['doc.txt']);
    expect(scoped.url('doc.txt')).toBe(`${emulator.endpoint}/${bucket}/tenants/a/doc.txt`);
    expect(await (await fetch(scoped.url('doc.txt'))).text()).toBe('tenant a');
  });

  it('reads an empty stream for a range that starts past the end', async () => {
    const driver = open();
    await driver.write('r.txt', Buffer.from('0123456789'));
    expect(await text(await driver.read('r.txt', { range: { offset: 10 } }))).toBe('');
    expect(await text(await driver.read('r.txt', { range: { offset: 50, length: 3 } }))).toBe('');
    expect(await text(await driver.read('r.txt', { range: { offset: 8, length: 30 } }))).toBe('89');
    await expect(driver.read('missing.txt', { range: { offset: 3 } })).rejects.toMatchObject({ code: 'ENOENT' });
  });
});

describe('gcs driver: pure helpers', () => {
  it('maps SDK errors to FsError codes', () => {
    const cases: Array<[unknown, string]> = [
      [Object.assign(new Error('No such object'), { code: 404 }), 'ENOENT'],
      [Object.assign(new Error('denied'), { code: 403, errors: [{ reason: 'forbidden' }] }), 'EACCES'],
      [Object.assign(new Error('Upload failed'), { code: 413 }), 'EFBIG'],
      [Object.assign(new Error('slow down'), { code: 429 }), 'EAGAIN'],
      [Object.assign(new Error('busy'), { status: 503 }), 'EAGAIN'],
      [Object.assign(new Error('boom'), { code: 500 }), 'EIO'],
      [Object.assign(new Error('bad name'), { code: 400, errors: [{ reason: 'invalid' }] }), 'EINVAL'],
      [Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' }), 'ECONNREFUSED'],
      [Object.assign(new Error('network timeout at: http://x'), { type: 'request-timeout' }), 'ETIMEDOUT'],
      [Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }), 'EIO'],
    ];
    for (const [err, code] of cases) {
      const mapped = mapGcsError(err, 'k/x.txt', 'stat');
      expect(mapped.code, String((err as Error).message)).toBe(code);
      expect(mapped.message).toContain('k/x.txt');
    }
  });

  it('merges a real-GCS page as is and hands out each emulator prefix once within maxKeys', () => {
    const object = (key: string) => ({ key, size: 1, lastModified: new Date(0) });
    // Real GCS: prefixes belong to the page; the token is opaque.
    const real = mergePage({ objects: [object('a')], prefixes: ['b/'], next: 'CgFi' }, {}, 2, false);
    expect(real.objects.map((o) => o.key)).toEqual(['a']);
    expect(real.commonPrefixes).toEqual(['b/']);
    expect(real.next).toBe(encodeGcsCursor({ t: 'CgFi', a: 'b/' }));
    // Emulator: every prefix on every page, the token is the next object's name.
    const emu = mergePage({ objects: [object('a'), object('c')], prefixes: ['b/', 'x/'], next: 'd' }, {}, 2, true);
    expect([...emu.objects.map((o) => o.key), ...emu.commonPrefixes].sort()).toEqual(['a', 'b/']);
    expect(emu.next).toBe(encodeGcsCursor({ a: 'b/' }));
  });
});

async function text(stream: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
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

/** `good` bytes in 64 KiB pieces, then an error. */
function breaking(good: number): Readable {
  let sent = 0;
  return new Readable({
    read() {
      if (sent >= good) return void this.destroy(new Error('the body stream broke midway'));
      const piece = Buffer.alloc(Math.min(64 * 1024, good - sent), 7);
      sent += piece.length;
      this.push(piece);
    },
  });
}

/** A TCP server that accepts connections and never answers. */
async function startSilentServer(): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
  });
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', () => resolve()));
  return {
    port,
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
