import { execFile, fork, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';

/** The script that serves the test double in a child process. */
const CHILD = join(import.meta.dirname, 'mount-child.ts');

/** What the child reports once mountVfs settled. */
export type MountOutcome = { type: 'mounted'; options: string[] } | { type: 'error'; code: string; message: string };

/** A child process serving TestMemoryVfs at a mountpoint. */
export interface MountProcess {
  readonly child: ChildProcess;
  readonly outcome: MountOutcome;
  /** Everything the child wrote to stderr so far (its logs). */
  stderr(): string;
  /** Write sizes, setattr changes and call counts of the test double. */
  stats(): Promise<{ writeSizes: number[]; setattrs: Record<string, string | number>[]; calls: { lookup: number; getxattr: number; listxattr: number } }>;
  /** Sends `signal` and resolves with the exit code once the child is gone. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Forks mount-child.ts on `mountpoint` and waits until it reports mounted or failed. */
export async function startMountProcess(mountpoint: string): Promise<MountProcess> {
  const child = fork(CHILD, [mountpoint], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
    env: { ...process.env, STORAGED_LOG_LEVEL: 'info' },
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const outcome = await new Promise<MountOutcome>((resolve, reject) => {
    child.once('message', (message) => resolve(message as MountOutcome));
    void exited.then((code) => reject(new Error(`mount child exited (${code}) before reporting:\n${stderr}`)));
  });
  return {
    child,
    outcome,
    stderr: () => stderr,
    stats: () =>
      new Promise((resolve) => {
        child.once('message', (message) => resolve(message as Awaited<ReturnType<MountProcess['stats']>>));
        child.send({ type: 'stats' });
      }),
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

/** `fusermount -uz`, ignoring "not mounted": test cleanup. */
export function forceUnmount(mountpoint: string): Promise<void> {
  return new Promise((resolve) => execFile('fusermount', ['-uz', mountpoint], () => resolve()));
}
