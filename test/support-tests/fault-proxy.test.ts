import { createHash, randomBytes } from 'node:crypto';
import { createServer, request, type IncomingHttpHeaders, type Server } from 'node:http';
import { connect } from 'node:net';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fromSystemError } from '../../src/core/errors.js';
import { startFaultProxy, type FaultProxy } from '../support/fault-proxy.js';
import { s3rverClient, startS3rver, type S3rver } from '../support/servers/s3rver.js';

let s3: S3rver;
let direct: S3Client;
const proxies: FaultProxy[] = [];
const clients: S3Client[] = [];

function s3Client(endpoint: string, maxAttempts: number): S3Client {
  const client = s3rverClient(endpoint, { maxAttempts });
  clients.push(client);
  return client;
}

async function proxy(options: Parameters<typeof startFaultProxy>[0]): Promise<FaultProxy> {
  const started = await startFaultProxy(options);
  proxies.push(started);
  return started;
}

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

/** sha256 of an object, read directly from s3rver (not through any proxy). */
async function storedSha(bucket: string, key: string): Promise<string> {
  const answer = await direct.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return sha256(Buffer.from(await answer.Body!.transformToByteArray()));
}

/** Runs `task` on every item, `limit` at a time. */
async function eachLimit<T>(items: T[], limit: number, task: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await task(items[next++]!);
  };
  await Promise.all(Array.from({ length: limit }, worker));
}

/** Random objects: mostly small, a few over a MiB. */
function randomObjects(count: number, prefix: string): Array<{ key: string; data: Buffer }> {
  return Array.from({ length: count }, (_, i) => ({
    key: `${prefix}/object-${i}.bin`,
    data: randomBytes(i % 50 === 7 ? 1_500_000 + i : Math.floor(Math.random() * 96 * 1024)),
  }));
}

async function countObjects(bucket: string, prefix: string): Promise<number> {
  let total = 0;
  let token: string | undefined;
  do {
    const page = await direct.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
    total += page.KeyCount ?? 0;
    token = page.NextContinuationToken;
  } while (token);
  return total;
}

beforeAll(async () => {
  s3 = await startS3rver();
  direct = s3Client(s3.endpoint, 3);
});

afterAll(async () => {
  for (const p of proxies) await p.close();
  for (const c of clients) c.destroy();
  await s3?.stop();
});

describe('fault proxy', { timeout: 180_000 }, () => {
  it('200 puts through 20% resets and 5xx (before forwarding) all land intact; the counters add up', async () => {
    const bucket = await s3.createBucket();
    const faulty = await proxy({ targetPort: s3.port, seed: 42, resetRate: 0.1, errorRate: 0.1 });
    const client = s3Client(faulty.endpoint, 12);
    const objects = randomObjects(200, 'burst');
    let attempts = 0;
    await eachLimit(objects, 8, async ({ key, data }) => {
      const answer = await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: data }));
      attempts += answer.$metadata.attempts ?? 1;
    });

    const counters = faulty.counters();
    expect(counters.requests).toBe(attempts);
    expect(counters.forwarded).toBe(objects.length);
    expect(counters.requests).toBe(counters.resets + counters.errors5xx + counters.forwarded);
    expect(counters.lateFaults).toBe(0);
    expect(counters.resets).toBeGreaterThan(0);
    expect(counters.errors5xx).toBeGreaterThan(0);
    const faultShare = (counters.resets + counters.errors5xx) / counters.requests;
    expect(faultShare).toBeGreaterThan(0.1);
    expect(faultShare).toBeLessThan(0.3);

    expect(await countObjects(bucket, 'burst/')).toBe(objects.length);
    await eachLimit(objects, 8, async ({ key, data }) => {
      expect(await storedSha(bucket, key), key).toBe(sha256(data));
    });
  });

  it("with timing 'any', faults after the server answered still leave every object intact", async () => {
    const bucket = await s3.createBucket();
    const faulty = await proxy({ targetPort: s3.port, seed: 7, resetRate: 0.15, errorRate: 0.15, timing: 'any' });
    const client = s3Client(faulty.endpoint, 12);
    const objects = randomObjects(40, 'late');
    await eachLimit(objects, 4, async ({ key, data }) => {
      await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: data }));
    });
    const counters = faulty.counters();
    expect(counters.lateFaults).toBeGreaterThan(0);
    // A late fault was forwarded and failed anyway: the client sent that object again.
    expect(counters.forwarded).toBe(objects.length + counters.lateFaults);
    expect(counters.requests).toBe(counters.resets + counters.errors5xx + counters.forwarded - counters.lateFaults);
    expect(await countObjects(bucket, 'late/')).toBe(objects.length);
    for (const { key, data } of objects) expect(await storedSha(bucket, key), key).toBe(sha256(data));
  });

  it('answers S3-style XML errors the SDK understands', async () => {
    const bucket = await s3.createBucket();
    const failing = await proxy({ targetPort: s3.port, seed: 3, errorRate: 1 });
    const client = s3Client(failing.endpoint, 1);
    const err = (await client.send(new PutObjectCommand({ Bucket: bucket, Key: 'x', Body: 'x' })).catch((e: unknown) => e)) as {
      name: string;
      $metadata: { httpStatusCode?: number };
    };
    expect(['InternalError', 'SlowDown', 'ServiceUnavailable']).toContain(err.name);
    expect([500, 503]).toContain(err.$metadata.httpStatusCode);
    expect(failing.counters()).toMatchObject({ requests: 1, errors5xx: 1, forwarded: 0, resets: 0 });
  });

  it('streams request and response bodies without waiting for their end, keeping their framing', async () => {
    let seen: IncomingHttpHeaders = {};
    // The upstream answers as soon as the first request bytes arrive, and finishes with the digest of all of them.
    const upstream: Server = createServer((req, res) => {
      seen = req.headers;
      const hash = createHash('sha256');
      let answered = false;
      req.on('data', (chunk: Buffer) => {
        hash.update(chunk);
        if (!answered) {
          answered = true;
          res.writeHead(200, { 'content-type': 'text/plain' });
          res.write('first\n');
        }
      });
      req.on('end', () => res.end(hash.digest('hex')));
    });
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    const address = upstream.address();
    const plain = await proxy({ targetPort: typeof address === 'object' && address ? address.port : 0 });
    try {
      const parts = [randomBytes(70_000), randomBytes(300_000)];
      const answer = await new Promise<string>((resolve, reject) => {
        const req = request({ host: '127.0.0.1', port: plain.port, method: 'PUT', path: '/stream?x=1', headers: { 'transfer-encoding': 'chunked' } });
        req.on('error', reject);
        req.on('response', (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => {
            // The first response bytes came back while the request body was still open: nothing was buffered whole.
            if (text === '') req.end(parts[1]);
            text += chunk;
          });
          res.on('end', () => resolve(text));
          expect(res.headers['transfer-encoding']).toBe('chunked');
        });
        req.write(parts[0]);
      });
      expect(answer).toBe(`first\n${sha256(Buffer.concat(parts))}`);
      expect(seen['transfer-encoding']).toBe('chunked');
      expect(seen['content-length']).toBeUndefined();
      expect(seen.host).toBe(`127.0.0.1:${plain.port}`);
    } finally {
      await new Promise<void>((resolve) => upstream.close(() => resolve()));
    }
  });

  it('down() refuses new connections and resets open ones; up() recovers', async () => {
    const bucket = await s3.createBucket();
    const gate = await proxy({ targetPort: s3.port });
    const client = s3Client(gate.endpoint, 1);
    await client.send(new PutObjectCommand({ Bucket: bucket, Key: 'before', Body: 'before' }));

    // An open connection in the middle of a request. Its header block is unfinished, so nothing reaches s3rver
    // (which would keep a truncated object for a PUT whose connection drops mid-body).
    const open = connect({ host: '127.0.0.1', port: gate.port });
    await new Promise<void>((resolve) => open.once('connect', () => resolve()));
    open.write(`GET /${bucket}/before HTTP/1.1\r\nHost: 127.0.0.1:${gate.port}\r\n`);
    const openFailure = new Promise<string | undefined>((resolve) => {
      open.once('error', (err: NodeJS.ErrnoException) => resolve(err.code));
      open.once('close', () => resolve(undefined));
    });
    await new Promise((r) => setTimeout(r, 100));

    await gate.down();
    expect(await openFailure).toBe('ECONNRESET');
    // The client's pooled keep-alive connection was reset too: its next request sees either that reset or the refusal.
    const pooled = await client.send(new PutObjectCommand({ Bucket: bucket, Key: 'during', Body: 'during' })).catch((e: unknown) => e);
    expect(['ECONNRESET', 'ECONNREFUSED']).toContain((pooled as NodeJS.ErrnoException).code);
    // A new connection is refused, as by a backend host whose server is down.
    const fresh = s3Client(gate.endpoint, 1);
    const refused = await fresh.send(new PutObjectCommand({ Bucket: bucket, Key: 'during', Body: 'during' })).catch((e: unknown) => e);
    expect(fromSystemError(refused).code).toBe('ECONNREFUSED');

    await gate.up();
    await client.send(new PutObjectCommand({ Bucket: bucket, Key: 'after', Body: 'after' }));
    expect(await storedSha(bucket, 'after')).toBe(sha256(Buffer.from('after')));
    const listed = await direct.send(new ListObjectsV2Command({ Bucket: bucket }));
    expect(listed.Contents?.map((o) => o.Key)).toEqual(['after', 'before']);
  });
});
