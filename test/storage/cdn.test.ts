import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { FsError } from '../../src/core/errors.js';
import { MemoryDriver } from '../../src/drivers/memory/index.js';
import { createCdnDriver, type CdnDriver, type CdnOptions } from '../../src/storage/decorators/cdn/index.js';
import { describeConformance } from '../conformance/index.js';
import { expectCode, expectSyncCode, readText, writeText } from '../conformance/support.js';
import { freePort } from '../support/process.js';
import { startUrlServer, type UrlServer } from '../support/url-server.js';
import { stackedFixture, stackedFixtures } from './support/decorator-fixtures.js';

/** A real HTTP server on 127.0.0.1 that records invalidation webhook calls. */
interface Receiver {
  readonly url: string;
  readonly calls: Array<{ method: string; paths: unknown; headers: IncomingHttpHeaders }>;
  /** Status to answer with (default 200). */
  status: number;
  /** When true, requests are never answered (a hanging CDN API). */
  hang: boolean;
  close(): Promise<void>;
}

async function startReceiver(): Promise<Receiver> {
  const port = await freePort();
  const calls: Receiver['calls'] = [];
  let server: Server;
  const receiver: Receiver = {
    url: `http://127.0.0.1:${port}/invalidate`,
    calls,
    status: 200,
    hang: false,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      let paths: unknown;
      try {
        paths = (JSON.parse(Buffer.concat(chunks).toString('utf8')) as { paths?: unknown }).paths;
      } catch {
        paths = 'not json';
      }
      calls.push({ method: req.method ?? '', paths, headers: req.headers });
      if (receiver.hang) return;
      res.writeHead(receiver.status, { 'content-type': 'text/plain' });
      res.end(receiver.status < 300 ? 'ok' : 'cdn api failure');
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  return receiver;
}

// Conformance: the CDN base URL is the inner driver's own public base (our URL server for memory and
// local, the bucket URL for s3rver), so the URL cases fetch real bytes through cdn.url(). On memory and
// local every change also sends a real invalidation webhook to a receiver, exercising the
// stat-before-overwrite path. Not on s3rver: its LIST reads the whole bucket, so the stat of each new
// key (HEAD, then a LIST to tell a folder) grows to ~200 ms once the listing case has written 2,500
// keys, and that case alone would take minutes; 'invalidation on s3' below covers s3 with a webhook.
let conformanceReceiver: Receiver | undefined;
beforeAll(async () => {
  conformanceReceiver = await startReceiver();
});
afterAll(async () => {
  await conformanceReceiver?.close();
});

for (const fixture of stackedFixtures('cdn', (inner, context) =>
  createCdnDriver(inner, {
    baseUrl: context.publicBaseUrl,
    ...(context.base === 's3' ? {} : { invalidate: { webhook: { url: conformanceReceiver!.url } } }),
  }),
)) {
  describeConformance(fixture);
}

describe('cdn driver: URLs and options', () => {
  it('url() is the base URL plus the key, each segment percent-encoded, with no I/O', () => {
    const inner = new MemoryDriver(); // no URLs of its own
    inner.failures.inject({ op: '*', code: 'EIO' });
    const cdn = createCdnDriver(inner, { baseUrl: 'https://cdn.example.com/assets/' });
    expect(cdn.name).toBe('cdn(memory)');
    expect(cdn.capabilities.publicUrl).toBe(true);
    expect(cdn.url('a b/c#d+e%f [g].txt')).toBe('https://cdn.example.com/assets/a%20b/c%23d%2Be%25f%20%5Bg%5D.txt');
    expect(cdn.url('./x//y.txt')).toBe('https://cdn.example.com/assets/x/y.txt');
    expectSyncCode(() => cdn.url('../escape.txt'), 'EINVAL');
    expectSyncCode(() => cdn.url(''), 'EINVAL');
  });

  it('rejects bad options with EINVAL', () => {
    const bad: CdnOptions[] = [
      { baseUrl: 'cdn.example.com' },
      { baseUrl: 'ftp://cdn.example.com' },
      { baseUrl: 'https://cdn.example.com/?v=1' },
      { baseUrl: 'https://cdn.example.com', invalidate: { webhook: { url: 'not a url' } } },
      { baseUrl: 'https://cdn.example.com', invalidate: { command: [] } },
      { baseUrl: 'https://cdn.example.com', invalidate: { command: [''] } },
      { baseUrl: 'https://cdn.example.com', invalidate: { command: ['x'], timeoutMs: 0 } },
    ];
    for (const options of bad) expectSyncCode(() => createCdnDriver(new MemoryDriver(), options), 'EINVAL');
  });

  describe('served by a CDN origin of its own', () => {
    let edge: UrlServer;
    let origin: UrlServer;
    let cdn: CdnDriver;
    beforeAll(async () => {
      let inner: MemoryDriver | undefined;
      origin = await startUrlServer(() => inner, { basePath: '/origin', signingKey: 'k' });
      edge = await startUrlServer(() => inner, { basePath: '/edge/v1' });
      inner = new MemoryDriver({ url: origin.baseUrl, signingKey: 'k' });
      cdn = createCdnDriver(inner, { baseUrl: `${edge.baseUrl}/` });
    });
    afterAll(async () => {
      await cdn.close();
      await Promise.all([edge.close(), origin.close()]);
    });

    it('url() points at the CDN, temporaryUrl() at the inner driver, and both serve the bytes', async () => {
      await writeText(cdn, 'img/a b.txt', 'edge bytes', { visibility: 'public' });
      const url = cdn.url('img/a b.txt');
      expect(url).toBe(`${edge.baseUrl}/img/a%20b.txt`);
      expect(await (await fetch(url)).text()).toBe('edge bytes');
      const temporary = await cdn.temporaryUrl('img/a b.txt', { expiresIn: 60 });
      expect(temporary.startsWith(`${origin.baseUrl}/img/a%20b.txt?`)).toBe(true);
      expect(await (await fetch(temporary)).text()).toBe('edge bytes');
    });
  });
});

describe('cdn driver: invalidation', () => {
  let receiver: Receiver;
  let work = '';
  beforeAll(async () => {
    receiver = await startReceiver();
    work = await mkdtemp(join(tmpdir(), 'storaged-cdn-'));
  });
  afterAll(async () => {
    await receiver.close();
    await rm(work, { recursive: true, force: true });
  });
  beforeEach(() => {
    receiver.calls.length = 0;
    receiver.status = 200;
    receiver.hang = false;
  });

  const webhookDriver = (extra: Partial<CdnOptions> = {}): CdnDriver =>
    createCdnDriver(new MemoryDriver(), {
      baseUrl: 'https://cdn.example.com/assets',
      invalidate: { webhook: { url: receiver.url, headers: { authorization: 'Bearer cdn-token' } } },
      ...extra,
    });
  const sentPaths = () => receiver.calls.map((call) => call.paths);

  it('posts JSON with the configured headers, one batch per operation, for overwrites, deletes, moves and copies onto files', async () => {
    const cdn = webhookDriver();
    await writeText(cdn, 'a.txt', 'first');
    await writeText(cdn, 'b.txt', 'b');
    await cdn.copy('a.txt', 'fresh-copy.txt');
    await cdn.createDirectory('made');
    expect(receiver.calls, 'new keys and new folders are not invalidated').toEqual([]);

    await writeText(cdn, 'a.txt', 'second'); // overwrite
    await cdn.copy('b.txt', 'fresh-copy.txt'); // copy onto an existing key
    await cdn.move('a.txt', 'b.txt'); // source and the overwritten target, one batch
    await cdn.move('b.txt', 'moved/c d.txt'); // onto a new key: the source only
    await cdn.delete('moved/c d.txt');
    await cdn.setVisibility('fresh-copy.txt', 'public');
    expect(sentPaths()).toEqual([
      ['/assets/a.txt'],
      ['/assets/fresh-copy.txt'],
      ['/assets/a.txt', '/assets/b.txt'],
      ['/assets/b.txt'],
      ['/assets/moved/c%20d.txt'],
      ['/assets/fresh-copy.txt'],
    ]);
    const [first] = receiver.calls;
    expect(first?.method).toBe('POST');
    expect(first?.headers['content-type']).toBe('application/json');
    expect(first?.headers.authorization).toBe('Bearer cdn-token');
    expect(cdn.invalidations()).toEqual({ sent: 6, failed: 0 });
    expect(await readText(cdn, 'fresh-copy.txt')).toBe('b');
  });

  it('invalidates a deleted directory as "dir/*", and the root as "/*"', async () => {
    const cdn = createCdnDriver(new MemoryDriver(), { baseUrl: 'https://cdn.example.com', invalidate: { webhook: { url: receiver.url } } });
    await writeText(cdn, 'dir x/one.txt', '1');
    await writeText(cdn, 'other/two.txt', '2');
    await cdn.deleteDirectory('dir x');
    await cdn.deleteDirectory('');
    expect(sentPaths()).toEqual([['/dir%20x/*'], ['/*']]);
  });

  it('a move onto itself and a failed change send nothing', async () => {
    const inner = new MemoryDriver();
    const cdn = createCdnDriver(inner, { baseUrl: 'https://cdn.example.com', invalidate: { webhook: { url: receiver.url } } });
    await writeText(cdn, 'same.txt', 'same');
    await cdn.move('same.txt', './same.txt');
    inner.failures.inject({ op: 'write', code: 'ENOSPC', times: 1 });
    await expectCode(cdn.write('same.txt', Buffer.from('never')), 'ENOSPC');
    inner.failures.inject({ op: 'delete', code: 'EACCES', times: 1 });
    await expectCode(cdn.delete('same.txt'), 'EACCES');
    expect(receiver.calls).toEqual([]);
    expect(await readText(cdn, 'same.txt')).toBe('same');
  });

  it('a webhook answering 500 does not fail the write: counted, kept and reported', async () => {
    const reported: Array<{ error: FsError; paths: string[] }> = [];
    const cdn = webhookDriver({ onInvalidationError: (error, paths) => reported.push({ error, paths }) });
    await writeText(cdn, 'x.txt', 'one');
    receiver.status = 500;
    await writeText(cdn, 'x.txt', 'two');
    expect(await readText(cdn, 'x.txt')).toBe('two');
    expect(receiver.calls).toHaveLength(1);
    const stats = cdn.invalidations();
    expect(stats).toMatchObject({ sent: 0, failed: 1 });
    expect(stats.lastError).toContain('500');
    expect(reported).toHaveLength(1);
    expect(reported[0]?.error).toBeInstanceOf(FsError);
    expect(reported[0]?.error.code).toBe('EIO');
    expect(reported[0]?.paths).toEqual(['/assets/x.txt']);
  });

  it('a webhook that is down does not fail the delete; a throwing error handler does not either', async () => {
    const port = await freePort(); // nothing listens here
    const cdn = createCdnDriver(new MemoryDriver(), {
      baseUrl: 'https://cdn.example.com',
      invalidate: { webhook: { url: `http://127.0.0.1:${port}/gone` } },
      onInvalidationError: () => {
        throw new Error('handler bug');
      },
    });
    await writeText(cdn, 'gone.txt', 'x');
    await cdn.delete('gone.txt');
    await expectCode(cdn.stat('gone.txt'), 'ENOENT');
    expect(cdn.invalidations()).toMatchObject({ sent: 0, failed: 1 });
  });

  it('a webhook that never answers is cut off after timeoutMs', async () => {
    receiver.hang = true;
    const cdn = createCdnDriver(new MemoryDriver(), {
      baseUrl: 'https://cdn.example.com',
      invalidate: { webhook: { url: receiver.url }, timeoutMs: 300 },
    });
    await writeText(cdn, 'slow.txt', 'x');
    const started = Date.now();
    await cdn.delete('slow.txt');
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(receiver.calls).toHaveLength(1);
    expect(cdn.invalidations()).toMatchObject({ sent: 0, failed: 1 });
    expect(cdn.invalidations().lastError).toMatch(/300 ms/);
  });

  it('runs the command without a shell, with the paths as extra arguments', async () => {
    const log = join(work, 'argv.log');
    const script = "require('fs').appendFileSync(process.argv[1], JSON.stringify(process.argv.slice(2)) + '\\n')";
    const cdn = createCdnDriver(new MemoryDriver(), {
      baseUrl: 'https://cdn.example.com/static',
      invalidate: { command: [process.execPath, '-e', script, log] },
    });
    await writeText(cdn, 'x;$(touch pwned) y.txt', '1');
    await writeText(cdn, 'x;$(touch pwned) y.txt', '2');
    await writeText(cdn, 'p.txt', 'p');
    await cdn.move('p.txt', 'x;$(touch pwned) y.txt');
    const lines = (await readFile(log, 'utf8')).trim().split('\n').map((line) => JSON.parse(line) as string[]);
    const target = '/static/x%3B%24(touch%20pwned)%20y.txt';
    expect(lines).toEqual([[target], ['/static/p.txt', target]]);
    expect(cdn.invalidations()).toEqual({ sent: 2, failed: 0 });
  });

  it('a command that exits non-zero, hangs, or does not exist is a counted failure, never a failed write', async () => {
    const failing = createCdnDriver(new MemoryDriver(), {
      baseUrl: 'https://cdn.example.com',
      invalidate: { command: [process.execPath, '-e', "process.stderr.write('purge refused'); process.exit(3)"] },
    });
    await writeText(failing, 'f.txt', '1');
    await writeText(failing, 'f.txt', '2');
    expect(await readText(failing, 'f.txt')).toBe('2');
    expect(failing.invalidations()).toMatchObject({ sent: 0, failed: 1 });
    expect(failing.invalidations().lastError).toMatch(/status 3.*purge refused/);

    const hanging = createCdnDriver(new MemoryDriver(), {
      baseUrl: 'https://cdn.example.com',
      invalidate: { command: [process.execPath, '-e', 'setTimeout(() => {}, 60000)'], timeoutMs: 300 },
    });
    await writeText(hanging, 'h.txt', '1');
    const started = Date.now();
    await hanging.delete('h.txt');
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(hanging.invalidations()).toMatchObject({ sent: 0, failed: 1 });

    const missing = createCdnDriver(new MemoryDriver(), {
      baseUrl: 'https://cdn.example.com',
      invalidate: { command: [join(work, 'no-such-program')] },
    });
    await writeText(missing, 'm.txt', '1');
    await missing.delete('m.txt');
    expect(missing.invalidations()).toMatchObject({ sent: 0, failed: 1 });
  });

  it('with a webhook and a command, each operation calls both', async () => {
    const log = join(work, 'both.log');
    const cdn = createCdnDriver(new MemoryDriver(), {
      baseUrl: 'https://cdn.example.com',
      invalidate: { webhook: { url: receiver.url }, command: [process.execPath, '-e', "require('fs').appendFileSync(process.argv[1], process.argv[2] + '\\n')", log] },
    });
    await writeText(cdn, 'both.txt', 'x');
    await cdn.delete('both.txt');
    expect(sentPaths()).toEqual([['/both.txt']]);
    expect(await readFile(log, 'utf8')).toBe('/both.txt\n');
    expect(cdn.invalidations()).toEqual({ sent: 2, failed: 0 });
  });

  it('without invalidate nothing is sent and writes do not stat first', async () => {
    const inner = new MemoryDriver();
    const cdn = createCdnDriver(inner, { baseUrl: 'https://cdn.example.com' });
    const stats = inner.failures.inject({ op: 'stat', code: 'EIO' });
    await writeText(cdn, 'plain.txt', 'x');
    await writeText(cdn, 'plain.txt', 'y');
    await cdn.delete('plain.txt');
    expect(stats.fired).toBe(0);
    expect(cdn.invalidations()).toEqual({ sent: 0, failed: 0 });
  });
});

describe('cdn driver: invalidation on s3 (s3rver)', () => {
  const fixture = stackedFixture('s3', 'cdn', (inner, context) => createCdnDriver(inner, { baseUrl: context.publicBaseUrl, invalidate: { webhook: { url: receiver.url } } }));
  let receiver: Receiver;
  let cdn: CdnDriver;
  let bucketPath = '';
  beforeAll(async () => {
    receiver = await startReceiver();
    await fixture.start();
    const pair = await fixture.createPair();
    cdn = pair.outer as CdnDriver;
    bucketPath = new URL(pair.context.publicBaseUrl).pathname;
  });
  afterAll(async () => {
    await cdn?.close();
    await fixture.stop();
    await receiver?.close();
  });

  it('tells overwrites from new keys and folders on a real object store, and the CDN URL serves the object', async () => {
    await writeText(cdn, 'site/index.html', '<p>one</p>');
    await writeText(cdn, 'site/sub/page.html', 'page'); // 'site' is now an implied folder, not a file
    await writeText(cdn, 'site/index.html', '<p>two</p>');
    await cdn.copy('site/index.html', 'site/sub/page.html');
    await cdn.deleteDirectory('site/sub');
    expect(receiver.calls.map((call) => call.paths)).toEqual([
      [`${bucketPath}/site/index.html`],
      [`${bucketPath}/site/sub/page.html`],
      [`${bucketPath}/site/sub/*`],
    ]);
    expect(await (await fetch(cdn.url('site/index.html'))).text()).toBe('<p>two</p>');
    expect(cdn.invalidations()).toEqual({ sent: 3, failed: 0 });
  });
});

