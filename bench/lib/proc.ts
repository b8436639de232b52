import { spawn, type ChildProcess } from 'node:child_process';
import { writeFile } from 'node:fs/promises';

/** What a finished command gave. */
export interface CommandResult {
  /** Wall-clock time from spawn to exit, in milliseconds. */
  ms: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs `command args` to completion and times it from spawn to exit (the
 * child's own close is included). Throws with its stderr when it exits
 * non-zero or runs longer than timeoutMs (then it is killed by pid).
 * stdout is discarded unless captureStdout is set (ls of 10,000 entries).
 */
export async function run(
  command: string,
  args: string[],
  options: { env?: NodeJS.ProcessEnv; timeoutMs?: number; captureStdout?: boolean } = {},
): Promise<CommandResult> {
  const started = process.hrtime.bigint();
  const child = spawn(command, args, {
    env: options.env ?? process.env,
    stdio: ['ignore', options.captureStdout ? 'pipe' : 'ignore', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
  const timeoutMs = options.timeoutMs ?? 600_000;
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (c, s) => resolve([c, s]));
  });
  clearTimeout(timer);
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  if (code !== 0) {
    throw new Error(`${command} ${args.join(' ')} failed (${signal ?? `exit ${code}`}${signal === 'SIGKILL' ? `, timeout ${timeoutMs} ms` : ''}):\n${stderr}`);
  }
  return { ms, stdout, stderr };
}

/** A long-running process (a mount daemon) started by the bench, stopped by its own pid only. */
export interface Daemon {
  readonly pid: number;
  readonly child: ChildProcess;
  /** True once the process has exited. */
  exited(): boolean;
  /** The last lines it printed, for error messages. */
  output(): string;
  /** Resolves when the process has exited. */
  readonly exit: Promise<void>;
  /** SIGTERM, then SIGKILL after graceMs; resolves when it has exited. */
  stop(graceMs?: number): Promise<void>;
}

/** Starts a daemon in the foreground of a child process. */
export function startDaemon(command: string, args: string[], env: NodeJS.ProcessEnv): Daemon {
  const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  const keep = (chunk: Buffer) => (log = (log + chunk.toString()).slice(-8000));
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  let done = false;
  const exit = new Promise<void>((resolve) => {
    child.once('exit', () => {
      done = true;
      resolve();
    });
    child.once('error', (err) => {
      log += `\nspawn error: ${err.message}`;
      done = true;
      resolve();
    });
  });
  return {
    pid: child.pid ?? -1,
    child,
    exited: () => done,
    output: () => log,
    exit,
    async stop(graceMs = 10_000) {
      if (done) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exit;
      clearTimeout(timer);
    },
  };
}

/** Writes dirty pages out and empties the kernel's page, dentry and inode caches (root only). */
export async function dropCaches(): Promise<void> {
  await run('sync', [], { timeoutMs: 120_000 });
  await writeFile('/proc/sys/vm/drop_caches', '3');
}

/** Resolves after ms milliseconds. */
export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
