import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, rmdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from './cli.js';

/** A disk mounted by a `storaged mount` child process. */
export interface RunningMount {
  /** Absolute path of the live FUSE mount. */
  readonly mountpoint: string;
  /** The child's pid (the storaged process serving the mount). */
  readonly pid: number;
  /** The config.yaml the child was started with. */
  readonly configFile: string;
  /** Last lines the child printed (stdout and stderr), for failure messages. */
  output(): string;
  /**
   * SIGTERM, waits for the child to exit (it uploads pending data first), then
   * SIGKILL after graceMs; always ends with `fusermount -uz` and removes the
   * mountpoint folder when this helper created it (only once unmounted:
   * rmdir, never recursive). Idempotent: later calls give the first result.
   */
  stop(graceMs?: number): Promise<MountExit>;
}

/** How a mount child ended. */
export interface MountExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** SIGTERM was not enough: the child was killed after the grace period. */
  killed: boolean;
  /** The mountpoint was no longer mounted when the child exited (it unmounted itself). */
  unmountedByChild: boolean;
}

/** What to mount. */
export interface MountOptions {
  /** config.yaml text (written to a temp file). */
  config: string;
  /** Name of the disk in `config`. */
  disk: string;
  /** Mountpoint to use (created when missing); default: a fresh temp folder. */
  mountpoint?: string;
  /** How long to wait for the mount to come up. */
  timeoutMs?: number;
  /** Extra environment for the child. */
  env?: NodeJS.ProcessEnv;
}

const TSX_LOADER = 'tsx';
const CLI_MAIN = join(repoRoot, 'src/cli/main.ts');

/** Children still running, unmounted on worker exit if a test forgot to stop them. */
const live = new Set<{ child: ChildProcess; mountpoint: string }>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const { child, mountpoint } of live) {
      try {
        child.kill('SIGKILL');
      } catch {
        // already gone
      }
      // Last resort at process exit: nothing async can run here any more.
      spawn('fusermount', ['-uz', mountpoint], { stdio: 'ignore', detached: true }).unref();
    }
  });
}

/** Unescapes a /proc/self/mountinfo path field (\040 for space, etc.). */
function unescapeMountinfo(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_m, octal: string) => String.fromCharCode(parseInt(octal, 8)));
}

/** True when `mountpoint` is currently a FUSE mount (per /proc/self/mountinfo). */
export async function isFuseMounted(mountpoint: string): Promise<boolean> {
  const text = await readFile('/proc/self/mountinfo', 'utf8');
  for (const line of text.split('\n')) {
    const [left, right] = line.split(' - ');
    if (left === undefined || right === undefined) continue;
    const fields = left.split(' ');
    const fsType = right.split(' ')[0] ?? '';
    if (fields[4] !== undefined && unescapeMountinfo(fields[4]) === mountpoint && fsType.startsWith('fuse')) return true;
  }
  return false;
}

/** `fusermount -uz mountpoint`, ignoring failure (nothing mounted). */
export async function lazyUnmount(mountpoint: string): Promise<void> {
  await new Promise<void>((done) => execFile('fusermount', ['-uz', mountpoint], () => done()));
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Starts `storaged mount <disk> <mountpoint> --config <tmp>/config.yaml` as a
 * child process through the real CLI (tsx on src/cli/main.ts) and resolves
 * once the mountpoint is a live FUSE mount. Rejects with the child's output if
 * it exits first or the mount does not appear within timeoutMs.
 */
export async function startMount(options: MountOptions): Promise<RunningMount> {
  installExitHook();
  const work = await mkdtemp(join(tmpdir(), 'storaged-mount-'));
  const configFile = join(work, 'config.yaml');
  await writeFile(configFile, options.config);
  const ownMountpoint = options.mountpoint === undefined;
  const mountpoint = options.mountpoint ?? join(work, 'mnt');
  await mkdir(mountpoint, { recursive: true });

  const child = spawn(process.execPath, ['--import', TSX_LOADER, CLI_MAIN, 'mount', options.disk, mountpoint, '--config', configFile], {
    cwd: repoRoot,
    env: { ...process.env, STORAGED_CONFIG: '', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const entry = { child, mountpoint };
  live.add(entry);
  let log = '';
  const keep = (chunk: Buffer) => {
    log = (log + chunk.toString()).slice(-16_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  const hasExited = () => child.exitCode !== null || child.signalCode !== null;

  let stopped: Promise<MountExit> | undefined;
  const stop = (graceMs = 20_000): Promise<MountExit> => {
    stopped ??= (async () => {
      let killed = false;
      if (!hasExited()) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => {
          killed = true;
          child.kill('SIGKILL');
        }, graceMs);
        await exited;
        clearTimeout(timer);
      }
      const unmountedByChild = !(await isFuseMounted(mountpoint));
      await lazyUnmount(mountpoint);
      live.delete(entry);
      const exit: MountExit = { code: child.exitCode, signal: child.signalCode, killed, unmountedByChild };
      // Give the kernel a moment to detach, then drop the folders we made.
      for (let i = 0; i < 20 && (await isFuseMounted(mountpoint)); i++) await sleep(100);
      // Never recurse into a folder that might still be a mount: that would delete the disk's files.
      if (await isFuseMounted(mountpoint)) {
        await rm(configFile, { force: true });
        return exit;
      }
      // A caller's own mountpoint folder stays (it may be mounted again); ours goes with the config.
      if (ownMountpoint) await rmdir(mountpoint).catch(() => undefined);
      await rm(work, { recursive: true, force: true }).catch(() => undefined);
      return exit;
    })();
    return stopped;
  };

  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  for (;;) {
    if (await isFuseMounted(mountpoint)) break;
    if (hasExited() || Date.now() > deadline) {
      const why = hasExited() ? `exited with ${child.exitCode ?? child.signalCode}` : `no FUSE mount after ${options.timeoutMs ?? 30_000} ms`;
      await stop(2000);
      throw new Error(`storaged mount ${options.disk} ${mountpoint} failed (${why}):\n${log}`);
    }
    await sleep(100);
  }
  return { mountpoint, pid: child.pid ?? -1, configFile, output: () => log, stop };
}

/** What a `storaged` command run against a mount printed, and its exit code (null: killed after its time limit). */
export interface MountCliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `storaged <args> --config <the mount's config>` (tsx on src/cli/main.ts); SIGTERM after `timeoutMs`. */
export function storagedFor(mount: RunningMount, args: string[], timeoutMs = 60_000): Promise<MountCliRun> {
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      ['--import', TSX_LOADER, CLI_MAIN, ...args, '--config', mount.configFile],
      { cwd: repoRoot, env: { ...process.env, STORAGED_CONFIG: '' }, maxBuffer: 16 * 2 ** 20, timeout: timeoutMs },
      (_err, stdout, stderr) => resolve({ code: child.exitCode, stdout, stderr }),
    );
  });
}
