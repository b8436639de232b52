import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, connect } from 'node:net';

/** A free TCP port on 127.0.0.1 (asks the kernel, then releases it). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Resolves once something accepts TCP connections on 127.0.0.1:port, or rejects after timeoutMs. */
export async function waitForPort(port: number, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect({ host: '127.0.0.1', port });
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on 127.0.0.1:${port} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A server process the tests started; stopped by its own pid only. */
export interface ServerProcess {
  readonly pid: number;
  readonly child: ChildProcess;
  /** Last lines of stderr/stdout, for failure messages. */
  output(): string;
  /** SIGTERM, then SIGKILL after graceMs; resolves when the process has exited. */
  stop(graceMs?: number): Promise<void>;
}

/**
 * Starts `command` with `args`, waits until `port` accepts connections and
 * returns a handle that stops exactly this process (never by name). Rejects
 * with the process's output if it exits or the port stays closed.
 */
export async function startServer(
  command: string,
  args: string[],
  options: { port: number; env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number },
): Promise<ServerProcess> {
  const child = spawn(command, args, {
    env: { ...process.env, ...options.env },
    cwd: options.cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  const keep = (chunk: Buffer) => {
    log = (log + chunk.toString()).slice(-8000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let exitedEarly = false;
  void exited.then(() => {
    exitedEarly = true;
  });
  const handle: ServerProcess = {
    pid: child.pid ?? -1,
    child,
    output: () => log,
    async stop(graceMs = 3000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
  try {
    await Promise.race([
      waitForPort(options.port, options.timeoutMs ?? 30_000),
      exited.then(() => {
        throw new Error(`exited early`);
      }),
    ]);
  } catch (err) {
    await handle.stop(500);
    throw new Error(`${command} ${args.join(' ')} did not start (${(err as Error).message}):\n${log}`);
  }
  if (exitedEarly) throw new Error(`${command} exited right after starting:\n${log}`);
  return handle;
}
