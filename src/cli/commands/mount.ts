import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { FS_ERROR_CODES, FsError, type FsErrorCode } from '../../core/errors.js';
import { createLogger } from '../../core/logger.js';
import type { HooksEngine } from '../../daemon/hooks/engine.js';
import type { Vfs } from '../../daemon/vfs/types.js';
import type { MountHandle } from '../../fuse/mount.js';
import { findMount, fusermount } from '../../fuse/mountinfo.js';
import { logFilePath, mountsDir, pidFilePath, readPidFile, removePidFile, writePidFile } from '../../fuse/pidfile.js';
import type { CliContext } from '../context.js';
import { printError } from '../errors.js';
import { out } from '../output.js';
import type { DiskControl } from '../../daemon/status.js';
import { startControlServer, type ControlServer } from '../../http/control-server.js';
import { controlSocketPath } from '../../http/control-paths.js';
import { describePending, startDrainProgress } from '../drain-progress.js';
import { registerUnmountCommand } from './unmount.js';
import { StopSignals } from '../stop-signals.js';

/** Longest wait for a `--daemon` child to have its mount live. */
const DAEMON_START_TIMEOUT_MS = 60_000;
/** How often a foreground mount checks that its mountpoint is still mounted. */
const WATCH_INTERVAL_MS = 2000;

/**
 * Registers `storaged mount <disk> <mountpoint> [--daemon]` and
 * `storaged unmount <mountpoint>`. A mount stays in the foreground until
 * `storaged unmount`, SIGINT or SIGTERM; then it unmounts, uploads what is
 * pending (vfs.close) and exits 0. A second signal detaches the mount at
 * once and exits 1, leaving pending uploads in the cache for the next start.
 */
export function registerMountCommands(program: Command, ctx: CliContext): void {
  program
    .command('mount')
    .description('mount a disk as a directory; stays in the foreground until unmounted, SIGINT or SIGTERM')
    .argument('<disk>', 'a configured disk')
    .argument('<mountpoint>', 'the folder to mount on (created if missing; must be empty)')
    .option('--daemon', 'run in the background: print the pid once the mount is live, log to the cache folder')
    .action(async (disk: string, mountpoint: string, options: { daemon?: boolean }) => {
      ctx.diskConfig(disk); // an unknown disk fails before anything starts
      const path = resolve(mountpoint);
      if (options.daemon) await startDaemon(ctx, path);
      else process.exitCode = await serveMount(ctx, disk, path);
    });
  registerUnmountCommand(program, ctx);
}

/** Mounts in this process and serves until stopped; resolves to the exit code. */
async function serveMount(ctx: CliContext, disk: string, mountpoint: string): Promise<number> {
  const config = ctx.config;
  const logger = createLogger('storaged');
  // Listening from the start: a SIGTERM that arrives while the mount comes up still stops it cleanly.
  const signals = new StopSignals();
  try {
    const driver = await ctx.driver(disk);
    // Loaded on use: other commands never load SQLite or the FUSE binding.
    const { createDiskVfs } = await import('../../daemon/index.js');
    const { mountVfs } = await import('../../fuse/mount.js');
    const { HooksEngine } = await import('../../daemon/hooks/engine.js');
    // Drop folders of this disk: their observer must see the journal the VFS resumes.
    const hooks = HooksEngine.open(config, { disk }, logger);
    let vfs: Vfs;
    try {
      vfs = await createDiskVfs({ diskName: disk, driver, config, logger, ...(hooks?.uploads ? { uploads: hooks.uploads } : {}) });
    } catch (err) {
      await hooks?.close();
      throw err;
    }
    let handle: MountHandle;
    let control: ControlServer | undefined;
    try {
      hooks?.attach(vfs);
      handle = await mountVfs(vfs, mountpoint, {
        logger,
        fsName: `storaged:${disk}`,
        attrTimeout: config.mount.attrTimeout,
        entryTimeout: config.mount.entryTimeout,
      });
      control = await startControlServer(diskControl(vfs, disk, mountpoint, config.cache.maxSize, hooks), controlSocketPath(config.cache.dir, mountpoint), logger);
      await hooks?.start();
    } catch (err) {
      await control?.close();
      await hooks?.close().catch((closeErr: unknown) => logger.error({ err: closeErr }, 'closing the drop-folder engine failed'));
      await vfs.close().catch((closeErr: unknown) => logger.error({ err: closeErr }, 'closing the VFS failed'));
      throw err;
    }
    const pidFile = pidFilePath(config.cache.dir, mountpoint);
    await writePidFile(pidFile);
    process.stderr.write(`mounted ${disk} at ${mountpoint}\n`);
    try {
      return await untilStopped(handle, vfs, control, signals, hooks);
    } finally {
      await removePidFile(pidFile);
    }
  } finally {
    signals.dispose();
  }
}

/** What the control socket of a mount answers (status, refresh, sync). */
function diskControl(vfs: Vfs, disk: string, mountpoint: string, maxBytes: number, hooks: HooksEngine | undefined): DiskControl {
  return {
    status: () => {
      const now = vfs.status();
      return {
        disk,
        mountpoint,
        pid: process.pid,
        pending: now.pending,
        inFlight: now.inFlight,
        held: now.held,
        failing: now.failing,
        totals: now.totals,
        cache: { ...now.cache, maxBytes },
        dedup: now.dedup,
        ...(hooks ? { watches: hooks.status() } : {}),
      };
    },
    refresh: (path) => vfs.refresh(path),
    sync: () => vfs.sync(),
  };
}


/**
 * Waits for SIGINT/SIGTERM (or the mount vanishing under an outside
 * `fusermount -u`), then unmounts and closes the VFS. Unmounting first means
 * no new request reaches a closing VFS; vfs.close() still uploads every
 * pending change (showing progress) before the process exits, and
 * `storaged unmount` waits for that exit. A second signal detaches at once
 * and exits 1, leaving what is pending in the journal for the next start.
 */
function untilStopped(handle: MountHandle, vfs: Vfs, control: ControlServer, signals: StopSignals, hooks: HooksEngine | undefined): Promise<number> {
  const { mountpoint } = handle;
  return new Promise((resolveExit) => {
    let stopping = false;
    const stop = (reason: string) => {
      stopping = true;
      clearInterval(watch);
      process.stderr.write(`storaged: ${reason}: unmounting ${mountpoint} and finishing pending uploads\n`);
      void shutdown(handle, vfs, control, hooks).then(resolveExit);
    };
    const watch = setInterval(() => {
      void findMount(mountpoint).then((entry) => {
        if (entry === undefined && !stopping) stop('mountpoint was unmounted from outside');
      });
    }, WATCH_INTERVAL_MS);
    watch.unref();
    signals.listen((signal, count) => {
      if (count === 1 && !stopping) return stop(signal);
      const { pending } = vfs.status();
      process.stderr.write(
        `storaged: second ${signal}: unmounting ${mountpoint} now; ${describePending(pending)} stay journaled for the next start\n`,
      );
      void fusermount(['-uz', mountpoint])
        .catch(() => undefined)
        .finally(() => process.exit(1));
    });
  });
}

/** Unmounts (a mount already gone is fine), closes the control socket, then drains and closes the VFS; 0 when all went well, else 1 (errors printed). */
async function shutdown(handle: MountHandle, vfs: Vfs, control: ControlServer, hooks: HooksEngine | undefined): Promise<number> {
  let code = 0;
  try {
    await handle.unmount();
  } catch (err) {
    printError(err);
    code = 1;
  }
  await control.close().catch(printError);
  // Jobs in flight stop (they resume at the next start); held uploads stay journaled.
  await hooks?.close().catch((err: unknown) => {
    printError(err);
    code = 1;
  });
  try {
    const progress = startDrainProgress(vfs.status().pending);
    try {
      await vfs.close({ onProgress: (status) => progress.update(status.pending) });
    } finally {
      progress.stop();
    }
  } catch (err) {
    printError(err);
    code = 1;
  }
  return code;
}

/**
 * `--daemon`: runs this same command line without --daemon as a detached
 * child whose output goes to `<cache dir>/mounts/<mountpoint>.log`, waits
 * until its mount is live (its pid file written and the mount listed), and
 * prints its pid. If the child fails first, its error line is ours.
 */
async function startDaemon(ctx: CliContext, mountpoint: string): Promise<void> {
  const cacheDir = ctx.config.cache.dir;
  const logFile = logFilePath(cacheDir, mountpoint);
  await mkdir(mountsDir(cacheDir), { recursive: true });
  const fd = openSync(logFile, 'a');
  const args = process.argv.slice(1).filter((arg) => arg !== '--daemon');
  const child = spawn(process.execPath, [...process.execArgv, ...args], { detached: true, stdio: ['ignore', fd, fd] });
  closeSync(fd);
  child.unref();
  await waitUntilServing(child, pidFilePath(cacheDir, mountpoint), mountpoint, logFile);
  await out(`${child.pid}\n`);
}

async function waitUntilServing(child: ChildProcess, pidFile: string, mountpoint: string, logFile: string): Promise<void> {
  let exitCode: number | null | undefined;
  child.once('exit', (code) => (exitCode = code));
  const deadline = Date.now() + DAEMON_START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (exitCode !== undefined) throw await childFailure(logFile, exitCode);
    if ((await readPidFile(pidFile)) === child.pid && (await findMount(mountpoint))?.fstype === 'fuse.storaged') return;
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill('SIGTERM');
  throw new FsError('ETIMEDOUT', `the mount at '${mountpoint}' was not live after ${DAEMON_START_TIMEOUT_MS / 1000} s; see ${logFile}`, {
    path: mountpoint,
    op: 'mount',
  });
}

/** The error a daemon child printed last (`storaged: message [CODE]`), or a pointer to its log. */
async function childFailure(logFile: string, exitCode: number | null): Promise<FsError> {
  const log = await readFile(logFile, 'utf8').catch(() => '');
  const line = log
    .split('\n')
    .filter((l) => l.startsWith('storaged: '))
    .at(-1);
  const match = line?.match(/^storaged: (.*) \[([A-Z]+)\]$/);
  const code = match?.[2];
  if (match?.[1] !== undefined && code !== undefined && (FS_ERROR_CODES as readonly string[]).includes(code)) {
    return new FsError(code as FsErrorCode, match[1], { op: 'mount' });
  }
  return new FsError('EIO', `the mount process exited (code ${exitCode}) before mounting; see ${logFile}`, { op: 'mount' });
}
