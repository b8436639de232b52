import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ftpDiskSchema, type FtpDiskConfig } from '../../src/core/config/schema.js';
import { accessOptions, createFtpDriver, FtpDriver } from '../../src/drivers/ftp/index.js';
import { parseListDate, walkPage, type FolderEntry } from '../../src/drivers/ftp/listing.js';
import type { StorageDriver } from '../../src/drivers/types.js';
import { describeConformance } from '../conformance/index.js';
import { collect, describeEntries, expectCode, listAll, readText, seededBytes, sleep, writeText } from '../conformance/support.js';
import { startVsftpd, type VsftpdServer } from '../support/servers/vsftpd.js';
import { startUrlServer, type UrlServer } from '../support/url-server.js';

const signingKey = randomBytes(32).toString('base64url');

/** A parsed ftp disk config (schema defaults applied) for a vsftpd under test. */
function ftpConfig(server: { port: number }, extra: Record<string, unknown> = {}): FtpDiskConfig {
  return ftpDiskSchema.parse({ driver: 'ftp', host: '127.0.0.1', port: server.port, timeout: 5, ...extra });
}

/** A root folder under vsftpd's writable /upload that no other driver uses. */
function freshRoot(label: string): string {
  return `/upload/${label}-${randomBytes(4).toString('hex')}`;
}

let conformanceServer: VsftpdServer | undefined;
const urlServers: UrlServer[] = [];

describeConformance({
  name: 'ftp (vsftpd)',
  async start() {
    conformanceServer = await startVsftpd();
  },
  async stop() {
    await Promise.all(urlServers.splice(0).map((server) => server.close()));
    await conformanceServer?.destroy();
  },
  async createDriver() {
    if (!conformanceServer) throw new Error('vsftpd is not running');
    let driver: StorageDriver | undefined;
    const urls = await startUrlServer(() => driver, { basePath: '/storage', signingKey });
    urlServers.push(urls);
    // The root folder does not exist yet: the first write creates it.
    driver = createFtpDriver(ftpConfig(conformanceServer, { root: freshRoot('conf'), url: urls.baseUrl, pool_size: 8 }), {
      diskName: 'ftp-conformance',
      signingKey,
    });
    return driver;
  },
  async interrupt() {
    const server = conformanceServer;
    if (!server) throw new Error('vsftpd is not running');
    await server.stop();
    return () => server.start();
  },
});

describe('ftp driver specifics (vsftpd)', () => {
  let server: VsftpdServer;
  const open: StorageDriver[] = [];

  beforeAll(async () => {
    server = await startVsftpd();
  });
  afterAll(async () => {
    await Promise.all(open.splice(0).map((driver) => driver.close()));
    await server?.destroy();
  });

  function driverFor(extra: Record<string, unknown> = {}): FtpDriver {
    const driver = new FtpDriver(ftpConfig(server, { root: freshRoot('spec'), ...extra }), { diskName: 'ftp-test' });
    open.push(driver);
    return driver;
  }

  it('reuses one connection for sequential calls and never opens more than pool_size', async () => {
    const driver = driverFor({ pool_size: 2 });
    await writeText(driver, 'pool/seed.txt', 'seed');
    for (let i = 0; i < 10; i++) await driver.stat('pool/seed.txt');
    expect(driver.pool.openCount).toBe(1);
    let peak = 0;
    const watch = setInterval(() => (peak = Math.max(peak, driver.pool.leasedCount)), 1);
    try {
      await Promise.all(Array.from({ length: 12 }, (_, i) => writeText(driver, `pool/f-${i}.txt`, `content ${i}`)));
      const texts = await Promise.all(Array.from({ length: 12 }, (_, i) => readText(driver, `pool/f-${i}.txt`)));
      texts.forEach((text, i) => expect(text).toBe(`content ${i}`));
    } finally {
      clearInterval(watch);
    }
    expect(peak).toBeLessThanOrEqual(2);
    expect(driver.pool.openCount).toBeLessThanOrEqual(2);
    expect(driver.pool.leasedCount).toBe(0);
  });

  it('replaces connections the server dropped (restart) without failing the next call', async () => {
    const driver = driverFor({ pool_size: 3 });
    await writeText(driver, 'drop/a.txt', 'before the drop');
    await Promise.all([driver.stat('drop/a.txt'), driver.stat('drop/a.txt'), driver.stat('drop/a.txt')]);
    await server.stop();
    await server.start();
    await sleep(100); // let the closed control sockets report their FIN
    expect(await readText(driver, 'drop/a.txt')).toBe('before the drop');
    await writeText(driver, 'drop/b.txt', 'after the drop');
    expect(await readText(driver, 'drop/b.txt')).toBe('after the drop');
  });

  it('a ranged read that stops early frees its connection for the next call', async () => {
    const driver = driverFor({ pool_size: 1 });
    const content = seededBytes(3 * 1024 * 1024, 7);
    await driver.write('range/big.bin', content);
    const head = await collect(await driver.read('range/big.bin', { range: { offset: 10, length: 100 } }));
    expect(head.equals(content.subarray(10, 110))).toBe(true);
    const middle = await collect(await driver.read('range/big.bin', { range: { offset: 2_000_000, length: 70_000 } }));
    expect(middle.equals(content.subarray(2_000_000, 2_070_000))).toBe(true);
    // A consumer that gives up midway: the pool of one must still serve the next call.
    const stream = await driver.read('range/big.bin');
    await new Promise<void>((resolve) => stream.once('readable', () => resolve()));
    stream.destroy();
    expect((await driver.stat('range/big.bin')).size).toBe(content.length);
    expect(driver.pool.leasedCount).toBe(0);
  });

  it('copy works with a pool of one (the second connection is a one-off)', async () => {
    const driver = driverFor({ pool_size: 1 });
    await writeText(driver, 'copy/src.txt', 'copied bytes');
    await driver.copy('copy/src.txt', 'copy/dst.txt');
    expect(await readText(driver, 'copy/dst.txt')).toBe('copied bytes');
    expect(driver.pool.openCount).toBe(1);
  });

  it('an upload in flight is invisible: no temp entry listed, nothing under the final name', async () => {
    const driver = driverFor();
    await writeText(driver, 'atomic/other.txt', 'other');
    const body = new PassThrough();
    const writing = driver.write('atomic/slow.bin', body);
    body.write(seededBytes(100_000, 1));
    await sleep(300);
    const { entries } = await listAll(driver, 'atomic', { recursive: true });
    expect(describeEntries(entries)).toEqual(['file:atomic/other.txt']);
    await expectCode(driver.stat('atomic/slow.bin'), 'ENOENT');
    body.end(seededBytes(10, 2));
    expect((await writing).size).toBe(100_010);
    expect((await driver.stat('atomic/slow.bin')).size).toBe(100_010);
    const names = await readdir(join(server.anonRoot, driver.rootPath, 'atomic'));
    expect(names.sort()).toEqual(['other.txt', 'slow.bin']);
  });

  it('lists folders whose names hold glob and ls-option characters exactly', async () => {
    const driver = driverFor();
    const names = ['[ab]*?.txt', '-la', ' lead and trail ', 'x{1,2}', 'ça\u0301 va'];
    for (const name of names) await writeText(driver, `glob/${name}/f.txt`, name);
    const { entries } = await listAll(driver, 'glob', { recursive: true });
    expect(describeEntries(entries)).toEqual(
      names.flatMap((name) => [`directory:glob/${name}`, `file:glob/${name}/f.txt`]).sort(),
    );
    for (const name of names) expect(await readText(driver, `glob/${name}/f.txt`)).toBe(name);
  });

  it('stat uses MDTM: lastModified has second precision and is close to now', async () => {
    const driver = driverFor();
    await writeText(driver, 'time/now.txt', 'now');
    const stat = await driver.stat('time/now.txt');
    expect(Math.abs(stat.lastModified.getTime() - Date.now())).toBeLessThan(5_000);
    expect(stat.etag).toBe(`3-${stat.lastModified.getTime()}`);
  });

  it('an aborted read and an aborted write reject with ECANCELED', async () => {
    const driver = driverFor();
    await driver.write('abort/file.bin', seededBytes(2_000_000, 3));
    const readAbort = new AbortController();
    const stream = await driver.read('abort/file.bin', { signal: readAbort.signal });
    readAbort.abort();
    await expectCode(collect(stream), 'ECANCELED');
    const writeAbort = new AbortController();
    const body = new PassThrough();
    const writing = driver.write('abort/never.bin', body, { signal: writeAbort.signal });
    body.write(Buffer.alloc(1000));
    await sleep(100);
    writeAbort.abort();
    await expectCode(writing, 'ECANCELED');
    await expectCode(driver.stat('abort/never.bin'), 'ENOENT');
  });

  it('a refused port fails fast with ECONNREFUSED', async () => {
    const driver = driverFor({ port: await closedPort() });
    const started = Date.now();
    await expectCode(driver.stat('x.txt'), 'ECONNREFUSED');
    expect(Date.now() - started).toBeLessThan(3_000);
  });

  it('a server that never answers fails with ETIMEDOUT after config.timeout', async () => {
    const silent = await silentServer();
    try {
      const driver = driverFor({ port: silent.port, timeout: 1 });
      const started = Date.now();
      await expectCode(driver.stat('x.txt'), 'ETIMEDOUT');
      expect(Date.now() - started).toBeLessThan(5_000);
    } finally {
      await silent.close();
    }
  });

  it('close() fails later calls with an FsError and leaves no connection open', async () => {
    const driver = driverFor();
    await writeText(driver, 'closed/a.txt', 'a');
    await driver.close();
    expect(driver.pool.openCount).toBe(0);
    await expectCode(driver.stat('closed/a.txt'), 'EIO');
  });
});

describe('ftp FTPS options', () => {
  it('maps secure and tls_verify onto basic-ftp access options', () => {
    const plain = accessOptions(ftpConfig({ port: 21 }, { user: 'u', password: 'p' }));
    expect(plain).toEqual({ host: '127.0.0.1', port: 21, user: 'u', password: 'p', secure: false });
    const explicit = accessOptions(ftpConfig({ port: 21 }, { host: 'ftp.example.com', secure: true }));
    expect(explicit.secure).toBe(true);
    expect(explicit.secureOptions).toEqual({ rejectUnauthorized: true, servername: 'ftp.example.com' });
    const implicit = accessOptions(ftpConfig({ port: 990 }, { secure: 'implicit', tls_verify: false }));
    expect(implicit.secure).toBe('implicit');
    expect(implicit.secureOptions?.rejectUnauthorized).toBe(false);
    expect(implicit.secureOptions?.servername).toBeUndefined(); // no SNI for an IP literal
  });

  const haveOpenssl = existsSync('/usr/bin/openssl');
  describe.skipIf(!haveOpenssl)('against vsftpd with TLS (self-signed certificate)', () => {
    let work = '';
    const servers: VsftpdServer[] = [];
    let explicitServer: VsftpdServer;
    let implicitServer: VsftpdServer;

    beforeAll(async () => {
      work = await mkdtemp(join(tmpdir(), 'storaged-ftps-'));
      const certFile = join(work, 'cert.pem');
      const keyFile = join(work, 'key.pem');
      execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyFile, '-out', certFile, '-days', '2', '-subj', '/CN=localhost'], {
        stdio: 'ignore',
      });
      explicitServer = await startVsftpd({ tls: { certFile, keyFile } });
      servers.push(explicitServer);
      implicitServer = await startVsftpd({ tls: { certFile, keyFile, implicit: true } });
      servers.push(implicitServer);
    });
    afterAll(async () => {
      await Promise.all(servers.map((server) => server.destroy()));
      await rm(work, { recursive: true, force: true });
    });

    for (const mode of ['explicit', 'implicit'] as const) {
      it(`${mode} FTPS with tls_verify false writes and reads over TLS`, async () => {
        const server = mode === 'explicit' ? explicitServer : implicitServer;
        const secure = mode === 'explicit' ? true : 'implicit';
        const driver = createFtpDriver(ftpConfig(server, { root: freshRoot('tls'), secure, tls_verify: false }), { diskName: 'ftps' });
        try {
          await writeText(driver, 'secret/a.txt', `over ${mode} TLS`);
          expect(await readText(driver, 'secret/a.txt')).toBe(`over ${mode} TLS`);
          expect(describeEntries((await listAll(driver, 'secret', { recursive: false })).entries)).toEqual(['file:secret/a.txt']);
        } finally {
          await driver.close();
        }
      });
    }

    it('tls_verify true refuses the self-signed certificate with EACCES', async () => {
      const driver = createFtpDriver(ftpConfig(explicitServer, { root: freshRoot('tls'), secure: true, tls_verify: true }), { diskName: 'ftps' });
      try {
        await expectCode(driver.stat('a.txt'), 'EACCES');
      } finally {
        await driver.close();
      }
    });

    it('a plain connection to a server that requires TLS for anonymous logins is refused (EACCES)', async () => {
      const driver = createFtpDriver(ftpConfig(explicitServer, { root: freshRoot('tls') }), { diskName: 'ftps' });
      try {
        await expectCode(driver.write('a.txt', Readable.from([Buffer.from('x')])), 'EACCES');
      } finally {
        await driver.close();
      }
    });
  });
});

describe('ftp listing walk (pure)', () => {
  /** A folder tree as nested objects: a string value is a file, an object a folder. */
  type Tree = { [name: string]: Tree | string };
  const tree: Tree = { a: { x: 'f', y: { deep: 'f' } }, 'a b': 'f', b: {}, c: { z: 'f' }, d: 'f' };
  const reader = (root: Tree) => async (folder: string): Promise<FolderEntry[]> => {
    let node: Tree | string | undefined = root;
    for (const part of folder === '' ? [] : folder.split('/')) node = typeof node === 'object' ? node[part] : undefined;
    if (typeof node !== 'object') return [];
    return Object.entries(node)
      .map(([name, value]) => ({ name, type: typeof value === 'object' ? ('directory' as const) : ('file' as const), size: 1, lastModified: new Date(0) }))
      .sort((p, q) => (p.name < q.name ? -1 : 1));
  };
  async function walkAll(root: Tree, recursive: boolean, pageSize: number, between?: () => void): Promise<string[]> {
    const paths: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await walkPage(reader(root), recursive, pageSize, cursor);
      expect(page.entries.length).toBeLessThanOrEqual(pageSize);
      if (page.cursor !== undefined) expect(page.entries.length).toBeGreaterThan(0);
      paths.push(...page.entries.map((e) => e.path));
      cursor = page.cursor;
      between?.();
    } while (cursor !== undefined);
    return paths;
  }

  it('every page size gives the same depth-first walk, each entry once, no empty last page', async () => {
    const expected = ['a', 'a/x', 'a/y', 'a/y/deep', 'a b', 'b', 'c', 'c/z', 'd'];
    for (let size = 1; size <= 10; size++) expect(await walkAll(tree, true, size)).toEqual(expected);
    expect(await walkAll(tree, false, 2)).toEqual(['a', 'a b', 'b', 'c', 'd']);
  });

  it('resumes after the cursor entry even when that entry was deleted between pages', async () => {
    const live: Tree = JSON.parse(JSON.stringify(tree)) as Tree;
    let pages = 0;
    const paths = await walkAll(live, true, 3, () => {
      if (++pages === 1) delete (live.a as Tree).y; // the page ended at 'a/y': it vanishes
    });
    expect(paths).toEqual(['a', 'a/x', 'a/y', 'a b', 'b', 'c', 'c/z', 'd']);
  });

  it('rejects a forged cursor with EINVAL', async () => {
    await expectCode(walkPage(reader(tree), true, 5, 'not-a-cursor'), 'EINVAL');
    const climbing = Buffer.from(JSON.stringify({ k: '../x', d: false })).toString('base64url');
    await expectCode(walkPage(reader(tree), true, 5, climbing), 'EINVAL');
  });

  it('parses LIST dates as UTC, guessing the year of recent ones', () => {
    const now = new Date('2026-01-10T12:00:00Z');
    expect(parseListDate('Jan 10 11:59', now).toISOString()).toBe('2026-01-10T11:59:00.000Z');
    expect(parseListDate('Dec 31 23:00', now).toISOString()).toBe('2025-12-31T23:00:00.000Z');
    expect(parseListDate('Feb 02 2020', now).toISOString()).toBe('2020-02-02T00:00:00.000Z');
    expect(parseListDate('2024-03-04 05:06', now).toISOString()).toBe('2024-03-04T05:06:00.000Z');
    expect(parseListDate('garbage', now).getTime()).toBe(0);
  });
});

/** A port nothing listens on (freed right after binding). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** A TCP server that accepts connections and never says a word (an FTP server that hangs). */
async function silentServer(): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const address = server.address();
  return {
    port: typeof address === 'object' && address ? address.port : 0,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
