import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, startServer, type ServerProcess } from '../process.js';

/** A running redis-server on 127.0.0.1, stopped and restarted by its own pid. */
export interface RedisServer {
  readonly port: number;
  /** redis://127.0.0.1:PORT */
  readonly url: string;
  readonly dataDir: string;
  /** Stops the server (its in-memory data is lost); the returned function starts it again on the same port. */
  interrupt(): Promise<() => Promise<void>>;
  /** Stops the server and deletes its folder. */
  stop(): Promise<void>;
  /** The last lines the server printed. */
  output(): string;
}

/**
 * Starts `redis-server` (the Debian package, installed by .ci/run) on a free
 * loopback port with its working folder in a fresh mkdtemp directory and no
 * persistence (`--save '' --appendonly no`), as a child process stopped by
 * its own pid. Never uses or touches a system Redis service.
 */
export async function startRedis(): Promise<RedisServer> {
  const port = await freePort();
  const dataDir = await mkdtemp(join(tmpdir(), 'storaged-redis-'));
  const launch = () =>
    startServer(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--dir', dataDir, '--save', '', '--appendonly', 'no', '--daemonize', 'no', '--loglevel', 'warning'],
      { port, cwd: dataDir, timeoutMs: 15_000 },
    );
  let server: ServerProcess | undefined = await launch();
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    dataDir,
    async interrupt() {
      await server?.stop();
      server = undefined;
      return async () => {
        server = await launch();
      };
    },
    output: () => server?.output() ?? '',
    async stop() {
      await server?.stop();
      server = undefined;
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
