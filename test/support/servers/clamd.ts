import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, startServer, type ServerProcess } from '../process.js';

const CLAMD = '/usr/sbin/clamd';

/** The names of the custom test signatures (BACKENDS.md) the test clamd loads, and nothing else. */
export const TEST_SIGNATURES = { ndb: 'Test.EICAR.NDB', hdb: 'Test.EICAR.HDB' } as const;

/**
 * The 68-byte EICAR anti-virus test file, assembled from two halves so the
 * repository never holds it verbatim (local scanners would flag the file).
 */
export function eicarTestFile(): Buffer {
  return Buffer.from(['X5O!P%@AP[4\\PZX54(P^)7CC)7}$', 'EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*'].join(''), 'latin1');
}

/** A real clamd on 127.0.0.1 and a unix socket, with only the test signatures. */
export interface ClamdServer {
  readonly host: '127.0.0.1';
  readonly port: number;
  /** clamd's LocalSocket. */
  readonly socketPath: string;
  /** StreamMaxLength in bytes: a longer INSTREAM is refused. */
  readonly streamMaxLength: number;
  /** Pid of clamd (undefined while stopped). */
  readonly pid: number | undefined;
  /** Stops clamd by its pid (a restart with start() keeps port and socket path). */
  stop(): Promise<void>;
  /** Starts it again after stop(); resolves once it answers PONG. */
  start(): Promise<void>;
  /** stop() and remove its folder. */
  destroy(): Promise<void>;
  /** The last lines clamd printed. */
  output(): string;
}

/**
 * Starts Debian's clamd in the foreground (`clamd -c CONF`) with a config in
 * a fresh mkdtemp folder: TCPSocket on a free loopback port, a LocalSocket in
 * that folder, a DatabaseDirectory holding only test.ndb and test.hdb, its
 * temporary files in that folder, and StreamMaxLength = `streamMaxLength`
 * bytes (default 2 MiB, so the size limit is cheap to reach). MaxFileSize and
 * MaxScanSize are kept above it so every streamed byte is really scanned.
 * Ready once it answers zPING with PONG on both sockets (~0.2 s).
 */
export async function startClamd(options: { streamMaxLength?: number } = {}): Promise<ClamdServer> {
  const streamMaxLength = options.streamMaxLength ?? 2 * 1024 * 1024;
  const base = await mkdtemp(join(tmpdir(), 'storaged-clamd-'));
  const databaseDir = join(base, 'db');
  const tempDir = join(base, 'tmp');
  await mkdir(databaseDir);
  await mkdir(tempDir);
  await writeFile(join(databaseDir, 'test.ndb'), `${TEST_SIGNATURES.ndb}:0:*:${Buffer.from('EICAR-STANDARD-ANTIVIRUS-TEST-FILE').toString('hex')}\n`);
  await writeFile(join(databaseDir, 'test.hdb'), `44d88612fea8a8f36de82e1278abb02f:68:${TEST_SIGNATURES.hdb}\n`);
  const port = await freePort();
  const socketPath = join(base, 'clamd.sock');
  const configFile = join(base, 'clamd.conf');
  const scanLimit = Math.max(streamMaxLength * 2, 400 * 1024 * 1024);
  await writeFile(
    configFile,
    [
      'Foreground yes',
      `DatabaseDirectory ${databaseDir}`,
      `TemporaryDirectory ${tempDir}`,
      'TCPAddr 127.0.0.1',
      `TCPSocket ${port}`,
      `LocalSocket ${socketPath}`,
      `StreamMaxLength ${streamMaxLength}`,
      `MaxFileSize ${scanLimit}`,
      `MaxScanSize ${scanLimit}`,
      'LogVerbose no',
      '',
    ].join('\n'),
  );

  let daemon: ServerProcess | undefined;
  const server: ClamdServer = {
    host: '127.0.0.1',
    port,
    socketPath,
    streamMaxLength,
    get pid() {
      return daemon?.pid;
    },
    async start() {
      if (daemon) return;
      const started = await startServer(CLAMD, ['-c', configFile], { port, timeoutMs: 30_000 });
      try {
        await waitForPong({ host: '127.0.0.1', port });
        await waitForPong({ path: socketPath });
      } catch (err) {
        await started.stop();
        throw new Error(`clamd did not answer PING: ${(err as Error).message}\n${started.output()}`);
      }
      daemon = started;
    },
    async stop() {
      const running = daemon;
      daemon = undefined;
      await running?.stop();
    },
    async destroy() {
      await server.stop();
      await rm(base, { recursive: true, force: true });
    },
    output: () => daemon?.output() ?? '',
  };
  try {
    await server.start();
  } catch (err) {
    await rm(base, { recursive: true, force: true });
    throw err;
  }
  return server;
}

/** Sends zPING until clamd answers PONG (every 50 ms, up to timeoutMs). */
async function waitForPong(target: { host: string; port: number } | { path: string }, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    last = await pingOnce(target).catch((err: Error) => err.message);
    if (last === 'PONG') return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`no PONG from ${JSON.stringify(target)} after ${timeoutMs} ms (last: ${last})`);
}

function pingOnce(target: { host: string; port: number } | { path: string }): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(target);
    let answer = '';
    const timer = setTimeout(() => socket.destroy(new Error('ping timed out')), 2000);
    socket.on('connect', () => socket.write('zPING\0'));
    socket.on('data', (chunk: Buffer) => (answer += chunk.toString('latin1')));
    socket.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(answer.replace(/\0/g, '').trim());
    });
  });
}
