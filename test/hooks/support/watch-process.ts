import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from '../../support/cli.js';

/** A `storaged watch` child process (tsx on src/cli/main.ts). */
export interface WatchProcess {
  /** The child's pid. */
  readonly pid: number;
  /** Everything it printed so far (stdout and stderr, the last 64 KiB). */
  output(): string;
  /** Resolves once it printed its `watching ...` line; rejects with its output if it exits first or takes over `timeoutMs`. */
  ready(timeoutMs?: number): Promise<void>;
  /** Resolves with how it ended (at once when it already has). */
  exited(): Promise<WatchExit>;
  /** Sends `signal` to it by pid (nothing when it already exited). */
  signal(signal: NodeJS.Signals): void;
  /** SIGTERM, waits for the exit; SIGKILL after `graceMs`. Idempotent. */
  stop(graceMs?: number): Promise<WatchExit>;
}

/** How a watch child ended. */
export interface WatchExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

const CLI_MAIN = join(repoRoot, 'src/cli/main.ts');
const READY_LINE = /^watching \d+ folders?: /m;

/** Children still running, killed at worker exit if a test forgot to stop them. */
const live = new Set<ChildProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const child of live) if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
}

/** Starts `storaged watch --config <configFile>` (env STORAGED_LOG_LEVEL as given, default 'warn'). */
export function startWatch(configFile: string, env: NodeJS.ProcessEnv = {}): WatchProcess {
  installExitHook();
  const child = spawn(process.execPath, ['--import', 'tsx', CLI_MAIN, 'watch', '--config', configFile], {
    cwd: repoRoot,
    env: { ...process.env, STORAGED_CONFIG: '', STORAGED_DEBUG: '', STORAGED_LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (child.pid === undefined) throw new Error(`could not start storaged watch --config ${configFile}`);
  live.add(child);
  let log = '';
  const keep = (chunk: Buffer) => {
    log = (log + chunk.toString()).slice(-65_536);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const exit = new Promise<WatchExit>((resolve) =>
    child.once('exit', (code, signal) => {
      live.delete(child);
      resolve({ code, signal });
    }),
  );
  const hasExited = () => child.exitCode !== null || child.signalCode !== null;
  let stopping: Promise<WatchExit> | undefined;

  return {
    pid: child.pid,
    output: () => log,
    async ready(timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      while (!READY_LINE.test(log)) {
        if (hasExited() || Date.now() > deadline) {
          const why = hasExited() ? `exited with ${child.exitCode ?? child.signalCode}` : `not ready after ${timeoutMs} ms`;
          if (!hasExited()) child.kill('SIGKILL');
          throw new Error(`storaged watch ${why}:\n${log}`);
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    exited: () => exit,
    signal(signal) {
      if (!hasExited()) process.kill(child.pid!, signal);
    },
    stop(graceMs = 20_000) {
      stopping ??= (async () => {
        if (hasExited()) return exit;
        process.kill(child.pid!, 'SIGTERM');
        const timer = setTimeout(() => {
          if (!hasExited()) process.kill(child.pid!, 'SIGKILL');
        }, graceMs);
        const ended = await exit;
        clearTimeout(timer);
        return ended;
      })();
      return stopping;
    },
  };
}
