import { PassThrough, Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { FsError } from '../../src/core/errors.js';
import { createMemoryDriver, FailureInjector, MemoryDriver, MemoryTree } from '../../src/drivers/memory/index.js';
import { describeConformance, type ConformanceFixture } from '../conformance/index.js';
import { collect, expectCode, readText, seededBytes, writeText } from '../conformance/support.js';
import { startUrlServer, type UrlServer } from '../support/url-server.js';

const SIGNING_KEY = 'memory-conformance-signing-key';

/** Memory drivers served over HTTP by our URL server; the outage is injected ECONNREFUSED on every op. */
function servedMemoryFixture(): ConformanceFixture {
  const drivers: MemoryDriver[] = [];
  const servers: UrlServer[] = [];
  return {
    name: 'memory (served URLs)',
    async start() {},
    async stop() {
      await Promise.all(servers.map((server) => server.close()));
    },
    async createDriver() {
      let driver: MemoryDriver | undefined;
      const server = await startUrlServer(() => driver, { basePath: '/files', signingKey: SIGNING_KEY });
      servers.push(server);
      driver = createMemoryDriver({ driver: 'memory', url: server.baseUrl }, { diskName: 'memory', signingKey: SIGNING_KEY });
      drivers.push(driver);
      return driver;
    },
    async interrupt() {
      const outages = drivers.map((driver) => driver.failures.inject({ op: '*', code: 'ECONNREFUSED' }));
      return async () => outages.forEach((outage) => outage.remove());
    },
  };
}

/** Plain memory drivers: no URLs, no interrupt (exercises the suite's skips and ENOTSUP cases). */
function bareMemoryFixture(): ConformanceFixture {
  return {
    name: 'memory (no URLs)',
    async start() {},
    async stop() {},
    async createDriver() {
      return createMemoryDriver({ driver: 'memory' }, { diskName: 'bare' });
    },
    interruptSkipReason: 'this fixture has no outage to inject (the served-URL fixture covers it)',
  };
}

describeConformance(servedMemoryFixture());
describeConformance(bareMemoryFixture());

describe('memory driver: config and capabilities', () => {
  it('maps the disk config: url, default visibility, latency', async () => {
    const driver = createMemoryDriver({ driver: 'memory', url: 'https://cdn.example.com/m/', visibility: 'public', latency_ms: 1 }, { diskName: 'm' });
    expect(driver.url('a b.txt')).toBe('https://cdn.example.com/m/a%20b.txt');
    await writeText(driver, 'x.txt', 'x');
    expect(await driver.getVisibility('x.txt')).toBe('public');
    expect(driver.capabilities).toMatchObject({ publicUrl: true, temporaryUrl: false, inProcess: true, nativeChecksum: 'sha256' });
  });

  it('files are private unless the config or the write says otherwise', async () => {
    const driver = new MemoryDriver();
    await writeText(driver, 'x.txt', 'x');
    expect(await driver.getVisibility('x.txt')).toBe('private');
  });

  it('temporary URLs need both a url and a signing key', async () => {
    const unsigned = new MemoryDriver({ url: 'http://127.0.0.1:1/m' });
    await expectCode(unsigned.temporaryUrl('x', { expiresIn: 60 }), 'ENOTSUP');
    const signed = new MemoryDriver({ url: 'http://127.0.0.1:1/m', signingKey: 'k' });
    expect(await signed.temporaryUrl('x y', { expiresIn: 60 })).toMatch(/^http:\/\/127\.0\.0\.1:1\/m\/x%20y\?expires=\d+&signature=/);
    expect(await signed.temporaryUploadUrl('x', { expiresIn: 60 })).toMatch(/method=PUT/);
  });

  it('rejects a negative latency with EINVAL', () => {
    expect(() => new MemoryDriver({ latencyMs: -1 })).toThrow(FsError);
  });

  it('a closed driver refuses every call', async () => {
    const driver = new MemoryDriver();
    await driver.close();
    await expectCode(driver.stat('x'), 'EIO');
  });

  it('drivers sharing a tree see the same files', async () => {
    const tree = new MemoryTree();
    await writeText(new MemoryDriver({ tree }), 'shared.txt', 'shared');
    expect(await readText(new MemoryDriver({ tree }), 'shared.txt')).toBe('shared');
  });

  it('rejects a cursor it did not give with EINVAL', async () => {
    await expectCode(new MemoryDriver().list('', { recursive: false, cursor: 'not a cursor!' }), 'EINVAL');
  });
});

describe('memory driver: streaming', () => {
  it('write consumes the body as it arrives, before the body ends', async () => {
    const driver = new MemoryDriver();
    const body = new PassThrough({ highWaterMark: 1024 });
    const done = driver.write('incremental.bin', body);
    body.write(seededBytes(64 * 1024, 1));
    for (let waited = 0; body.readableLength > 0 && waited < 2000; waited += 10) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(body.readableLength, 'the driver left the first chunk unread').toBe(0);
    await expectCode(driver.stat('incremental.bin'), 'ENOENT');
    body.end(seededBytes(10, 2));
    expect((await done).size).toBe(64 * 1024 + 10);
  });

  it('an aborted signal cancels reads and writes with ECANCELED', async () => {
    const driver = new MemoryDriver();
    await writeText(driver, 'x.txt', 'x');
    const signal = AbortSignal.abort();
    await expectCode(driver.read('x.txt', { signal }), 'ECANCELED');
    await expectCode(driver.write('y.txt', Buffer.from('y'), { signal }), 'ECANCELED');
    await expectCode(driver.stat('y.txt'), 'ENOENT');
  });
});

describe('memory driver: aborts', () => {
  it('aborting mid-write rejects with ECANCELED and stores nothing', async () => {
    const driver = new MemoryDriver();
    const controller = new AbortController();
    const body = new PassThrough();
    const done = driver.write('aborted.bin', body, { signal: controller.signal });
    body.write(seededBytes(1000, 1));
    await new Promise((resolve) => setTimeout(resolve, 10));
    controller.abort();
    await expectCode(done, 'ECANCELED');
    await expectCode(driver.stat('aborted.bin'), 'ENOENT');
  });

  it('aborting mid-read errors the stream with ECANCELED', async () => {
    const driver = new MemoryDriver();
    await driver.write('big.bin', Readable.from(Array.from({ length: 8 }, (_, i) => seededBytes(64 * 1024, i))));
    const controller = new AbortController();
    const stream = await driver.read('big.bin', { signal: controller.signal });
    const error = await (async () => {
      try {
        for await (const chunk of stream) {
          void chunk;
          controller.abort();
        }
      } catch (err) {
        return err;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(FsError);
    expect((error as FsError).code).toBe('ECANCELED');
  });
});

describe('memory driver: failure injection', () => {
  it('fails the named operation `times` times, then lets it through', async () => {
    const driver = new MemoryDriver();
    await writeText(driver, 'f.txt', 'content');
    const rule = driver.failures.inject({ op: 'read', code: 'EIO', times: 2 });
    await expectCode(driver.read('f.txt'), 'EIO');
    await expectCode(driver.read('f.txt'), 'EIO');
    expect(await readText(driver, 'f.txt')).toBe('content');
    expect(rule.fired).toBe(2);
    expect((await driver.stat('f.txt')).size).toBe(7);
  });

  it("'*' fails every operation until cleared", async () => {
    const driver = new MemoryDriver();
    driver.failures.inject({ op: '*', code: 'ETIMEDOUT' });
    await expectCode(driver.stat('a'), 'ETIMEDOUT');
    await expectCode(driver.list('', { recursive: true }), 'ETIMEDOUT');
    await expectCode(driver.write('a', Buffer.from('a')), 'ETIMEDOUT');
    await expectCode(driver.deleteDirectory('d'), 'ETIMEDOUT');
    driver.failures.clear();
    await writeText(driver, 'a', 'a');
    expect(await readText(driver, 'a')).toBe('a');
  });

  it('a path prefix limits the rule to matching keys (either side of a copy)', async () => {
    const driver = new MemoryDriver();
    await writeText(driver, 'ok/a.txt', 'a');
    driver.failures.inject({ op: '*', code: 'EACCES', path: 'locked/' });
    expect(await readText(driver, 'ok/a.txt')).toBe('a');
    await expectCode(driver.write('locked/b.txt', Buffer.from('b')), 'EACCES');
    await expectCode(driver.copy('ok/a.txt', 'locked/a.txt'), 'EACCES');
    await expectCode(driver.stat('locked/a.txt'), 'EACCES');
    await driver.copy('ok/a.txt', 'ok/c.txt');
  });

  it('probability decides with the injected random source', async () => {
    const failures = new FailureInjector(() => 0.3);
    const driver = new MemoryDriver({ failures });
    failures.inject({ op: 'stat', code: 'EAGAIN', probability: 0.2 });
    await expectCode(driver.stat('missing'), 'ENOENT');
    failures.inject({ op: 'stat', code: 'EAGAIN', probability: 0.5 });
    await expectCode(driver.stat('missing'), 'EAGAIN');
    expect(() => failures.inject({ op: 'stat', code: 'EIO', probability: 2 })).toThrow(FsError);
  });

  it('a write failing up front leaves nothing and discards its body stream', async () => {
    const driver = new MemoryDriver();
    driver.failures.inject({ op: 'write', code: 'ENOSPC', times: 1 });
    const body = Readable.from([Buffer.from('never stored')]);
    await expectCode(driver.write('full.txt', body), 'ENOSPC');
    expect(body.destroyed).toBe(true);
    await expectCode(driver.stat('full.txt'), 'ENOENT');
  });

  it('afterBytes on read: the stream yields that many bytes, then errors', async () => {
    const driver = new MemoryDriver();
    await driver.write('r.bin', seededBytes(10_000, 3));
    driver.failures.inject({ op: 'read', code: 'EIO', afterBytes: 4096, times: 1 });
    const stream = await driver.read('r.bin');
    let received = 0;
    const error = await (async () => {
      try {
        for await (const chunk of stream) received += (chunk as Buffer).length;
      } catch (err) {
        return err;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(FsError);
    expect((error as FsError).code).toBe('EIO');
    expect(received).toBe(4096);
    expect((await collect(await driver.read('r.bin'))).equals(seededBytes(10_000, 3))).toBe(true);
  });

  it('afterBytes on write: the write rejects and the old content stays', async () => {
    const driver = new MemoryDriver();
    await writeText(driver, 'w.txt', 'old');
    driver.failures.inject({ op: 'write', code: 'ECONNREFUSED', afterBytes: 100, times: 1 });
    await expectCode(driver.write('w.txt', Readable.from([seededBytes(80, 1), seededBytes(80, 2)])), 'ECONNREFUSED');
    expect(await readText(driver, 'w.txt')).toBe('old');
    await driver.write('w.txt', seededBytes(160, 5));
    expect((await driver.stat('w.txt')).size).toBe(160);
  });

  it('one injector can fail several drivers together', async () => {
    const failures = new FailureInjector();
    const one = new MemoryDriver({ failures });
    const two = new MemoryDriver({ failures });
    const rule = failures.inject({ op: 'stat', code: 'EHOSTUNREACH' });
    await expectCode(one.stat('x'), 'EHOSTUNREACH');
    await expectCode(two.stat('x'), 'EHOSTUNREACH');
    rule.remove();
    await expectCode(one.stat('x'), 'ENOENT');
  });
});

describe('memory driver: latency', () => {
  it('delays every operation by latencyMs', async () => {
    const driver = new MemoryDriver({ latencyMs: 40 });
    const started = performance.now();
    await writeText(driver, 'slow.txt', 'slow');
    await driver.stat('slow.txt');
    expect(performance.now() - started).toBeGreaterThanOrEqual(75);
  });
});
