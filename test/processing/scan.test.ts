import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FsError } from '../../src/core/errors.js';
import { createClamdScanner, type ClamdSocket } from '../../src/processing/scan/index.js';
import { expectCode, expectSyncCode, failingStream } from '../conformance/support.js';
import { freePort } from '../support/process.js';
import { eicarTestFile, startClamd, type ClamdServer } from '../support/servers/clamd.js';

const MiB = 1024 * 1024;
/** clamd appends `.UNOFFICIAL` to signatures from an unsigned database like ours. */
const EICAR_SIGNATURE = /^Test\.EICAR\.(NDB|HDB)(\.UNOFFICIAL)?$/;
const NDB_SIGNATURE = /^Test\.EICAR\.NDB(\.UNOFFICIAL)?$/;

/** A byte stream of `total` random bytes made chunk by chunk on demand; `produced()` says how many were pulled. */
function generatedStream(total: number, chunkBytes = 256 * 1024): { stream: Readable; produced: () => number } {
  let produced = 0;
  async function* chunks() {
    while (produced < total) {
      const size = Math.min(chunkBytes, total - produced);
      produced += size;
      yield randomBytes(size);
    }
  }
  return { stream: Readable.from(chunks(), { objectMode: false }), produced: () => produced };
}

/** A TCP server on 127.0.0.1 that runs `onConnection` for each client (a stand-in for a broken clamd). */
async function fakeClamd(onConnection: (socket: Socket) => void): Promise<{ socket: ClamdSocket; close: () => Promise<void> }> {
  const port = await freePort();
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.on('close', () => sockets.delete(socket));
    onConnection(socket);
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    socket: { host: '127.0.0.1', port },
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe('clamd scanner against a real clamd with the test signatures', () => {
  let small: ClamdServer; // StreamMaxLength 2 MiB
  let large: ClamdServer; // StreamMaxLength 64 MiB
  let dir: string;
  const tcp = (server: ClamdServer): ClamdSocket => ({ host: server.host, port: server.port });

  beforeAll(async () => {
    [small, large] = await Promise.all([startClamd({ streamMaxLength: 2 * MiB }), startClamd({ streamMaxLength: 64 * MiB })]);
    dir = await mkdtemp(join(tmpdir(), 'storaged-scan-test-'));
  });

  afterAll(async () => {
    await Promise.all([small?.destroy(), large?.destroy()]);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('answers PING over TCP and over the unix socket', async () => {
    await createClamdScanner({ socket: tcp(small), timeoutMs: 5000 }).ping();
    await createClamdScanner({ socket: { path: small.socketPath }, timeoutMs: 5000 }).ping();
  });

  it('finds the EICAR test file, as a buffer over TCP and as a file stream over the unix socket', async () => {
    const fromBuffer = await createClamdScanner({ socket: tcp(small), timeoutMs: 5000 }).scan(eicarTestFile());
    expect(fromBuffer.verdict).toBe('infected');
    expect(fromBuffer.verdict === 'infected' && fromBuffer.signature).toMatch(EICAR_SIGNATURE);

    const file = join(dir, 'eicar.com');
    await writeFile(file, eicarTestFile());
    const fromFile = await createClamdScanner({ socket: { path: small.socketPath }, timeoutMs: 5000 }).scan(createReadStream(file));
    expect(fromFile).toEqual({ verdict: 'infected', signature: expect.stringMatching(EICAR_SIGNATURE) });
  });

  it('finds EICAR inside a larger file where it straddles two INSTREAM chunks', async () => {
    const body = Buffer.alloc(1 * MiB, 'a');
    const chunkBytes = 64 * 1024;
    eicarTestFile().copy(body, chunkBytes - 20);
    const result = await createClamdScanner({ socket: tcp(small), timeoutMs: 5000, chunkBytes }).scan(body);
    expect(result).toEqual({ verdict: 'infected', signature: expect.stringMatching(NDB_SIGNATURE) });
  });

  it('passes a clean file, an empty file, and a stream of exactly StreamMaxLength bytes', async () => {
    const scanner = createClamdScanner({ socket: tcp(small), timeoutMs: 5000 });
    const file = join(dir, 'clean.txt');
    await writeFile(file, 'an ordinary text file\n'.repeat(1000));
    expect(await scanner.scan(createReadStream(file))).toEqual({ verdict: 'clean' });
    expect(await scanner.scan(Buffer.alloc(0))).toEqual({ verdict: 'clean' });
    expect(await scanner.scan(generatedStream(small.streamMaxLength).stream)).toEqual({ verdict: 'clean' });
  });

  it('passes a 50 MiB clean stream on a clamd whose StreamMaxLength allows it', async () => {
    const source = generatedStream(50 * MiB);
    const result = await createClamdScanner({ socket: tcp(large), timeoutMs: 20_000 }).scan(source.stream);
    expect(result).toEqual({ verdict: 'clean' });
    expect(source.produced()).toBe(50 * MiB);
  });

  it('rejects EFBIG, never clean, for a stream past clamd StreamMaxLength (buffer and stream, TCP and unix)', async () => {
    const past = small.streamMaxLength + 1;
    for (const socket of [tcp(small), { path: small.socketPath }]) {
      const scanner = createClamdScanner({ socket, timeoutMs: 5000 });
      // Repeated: clamd answers and closes mid-upload, which races the client's writes.
      for (let round = 0; round < 4; round++) {
        await expectCode(scanner.scan(Buffer.alloc(past, 'x')), 'EFBIG');
        const source = generatedStream(3 * MiB, 64 * 1024);
        await expectCode(scanner.scan(source.stream), 'EFBIG');
        expect(source.stream.destroyed, 'the source is destroyed when the scan stops early').toBe(true);
      }
    }
  });

  it('refuses a source past maxStreamBytes itself, before clamd sees the excess', async () => {
    const scanner = createClamdScanner({ socket: tcp(large), timeoutMs: 5000, maxStreamBytes: 1 * MiB });
    const source = generatedStream(8 * MiB, 64 * 1024);
    await expectCode(scanner.scan(source.stream), 'EFBIG');
    expect(source.produced()).toBeLessThan(2 * MiB);
    expect(await scanner.scan(Buffer.alloc(1 * MiB, 'y'))).toEqual({ verdict: 'clean' });
  });

  it('rejects ECONNREFUSED while clamd is stopped, and scans again once it is back', async () => {
    const server = await startClamd();
    try {
      const overTcp = createClamdScanner({ socket: tcp(server), timeoutMs: 5000 });
      const overUnix = createClamdScanner({ socket: { path: server.socketPath }, timeoutMs: 5000 });
      expect(await overTcp.scan(eicarTestFile())).toMatchObject({ verdict: 'infected' });
      await server.stop();
      await expectCode(overTcp.scan(Buffer.from('clean text')), 'ECONNREFUSED');
      await expectCode(overUnix.scan(Buffer.from('clean text')), 'ECONNREFUSED');
      await expectCode(overTcp.ping(), 'ECONNREFUSED');
      const waiting = Readable.from([Buffer.from('a file that waits')]);
      await expectCode(overUnix.scan(waiting), 'ECONNREFUSED');
      expect(waiting.destroyed).toBe(true);
      await server.start();
      expect(await overTcp.scan(Buffer.from('clean text'))).toEqual({ verdict: 'clean' });
      expect(await overUnix.scan(eicarTestFile())).toMatchObject({ verdict: 'infected' });
    } finally {
      await server.destroy();
    }
  });

  it('rejects a source stream that fails midway as a scan failure', async () => {
    const error = await expectCode(createClamdScanner({ socket: tcp(small), timeoutMs: 5000 }).scan(failingStream(Buffer.alloc(1000, 'z'))), 'EIO');
    expect(error.op).toBe('scan');
  });
});

describe('clamd scanner against servers that misbehave', () => {
  it('rejects ETIMEDOUT within timeoutMs when the server accepts and never answers', async () => {
    const silent = await fakeClamd(() => undefined);
    try {
      const scanner = createClamdScanner({ socket: silent.socket, timeoutMs: 300 });
      const started = Date.now();
      await expectCode(scanner.scan(Buffer.from('hello')), 'ETIMEDOUT');
      const elapsed = Date.now() - started;
      expect(elapsed).toBeGreaterThanOrEqual(250);
      expect(elapsed).toBeLessThan(2000);
      await expectCode(scanner.ping(), 'ETIMEDOUT');
    } finally {
      await silent.close();
    }
  });

  it('holds back a large stream when the server stops reading (backpressure), then rejects ETIMEDOUT', async () => {
    const stuck = await fakeClamd((socket) => socket.pause());
    try {
      const source = generatedStream(256 * MiB, 64 * 1024);
      await expectCode(createClamdScanner({ socket: stuck.socket, timeoutMs: 500 }).scan(source.stream), 'ETIMEDOUT');
      // Only what fits in socket buffers was read from the source, not the whole file.
      expect(source.produced()).toBeLessThan(32 * MiB);
      expect(source.stream.destroyed).toBe(true);
    } finally {
      await stuck.close();
    }
  });

  it('rejects EIO for an unexpected answer, an ERROR answer or a close without answer', async () => {
    const answers: Array<(socket: Socket) => void> = [
      (socket) => socket.end('HELLO THERE\0'),
      (socket) => socket.end('stream: Can\'t allocate memory ERROR\0'),
      (socket) => socket.end(),
      (socket) => socket.once('data', () => socket.destroy()),
      (socket) => socket.end('stream:  FOUND\0'),
    ];
    for (const answer of answers) {
      const fake = await fakeClamd(answer);
      try {
        const scanner = createClamdScanner({ socket: fake.socket, timeoutMs: 2000 });
        const error = await expectCode(scanner.scan(Buffer.from('some bytes')), 'EIO');
        expect(error).toBeInstanceOf(FsError);
        await expectCode(scanner.ping(), 'EIO');
      } finally {
        await fake.close();
      }
    }
  });

  it('rejects ECONNREFUSED for a unix socket path where nothing listens', async () => {
    await expectCode(createClamdScanner({ socket: { path: join(tmpdir(), `no-clamd-${process.pid}.sock`) }, timeoutMs: 1000 }).scan(Buffer.from('x')), 'ECONNREFUSED');
  });

  it('throws EINVAL for invalid options', () => {
    expectSyncCode(() => createClamdScanner({ socket: { host: '127.0.0.1', port: 0 }, timeoutMs: 1000 }), 'EINVAL');
    expectSyncCode(() => createClamdScanner({ socket: { path: '/tmp/x.sock' }, timeoutMs: 0 }), 'EINVAL');
    expectSyncCode(() => createClamdScanner({ socket: { path: '/tmp/x.sock' }, timeoutMs: 1000, chunkBytes: 0 }), 'EINVAL');
  });
});
