import { resolve } from 'node:path';
import type { Command } from 'commander';
import { FsError } from '../../core/errors.js';
import { findMount, fusermount, probeMount } from '../../fuse/mountinfo.js';
import { pidFilePath, processAlive, readPidFile, servesFuse } from '../../fuse/pidfile.js';
import type { CliContext } from '../context.js';

/** Default seconds to wait for a mount process to finish its uploads and exit. */
const DEFAULT_TIMEOUT_S = 300;

/**
 * Registers `storaged unmount <mountpoint> [--timeout SECONDS]`: signals the
 * process serving the mount (found through its pid file) with SIGTERM and
 * waits until it has uploaded what is pending and exited. A mount without a
 * live storaged process is unmounted with fusermount (a dead one lazily).
 */
export function registerUnmountCommand(program: Command, ctx: CliContext): void {
  program
    .command('unmount')
    .description('unmount a storaged mount, waiting until its pending uploads are done')
    .argument('<mountpoint>', 'the mounted folder')
    .option('--timeout <seconds>', 'how long to wait for pending uploads', String(DEFAULT_TIMEOUT_S))
    .action(async (mountpoint: string, options: { timeout: string }) => {
      const path = resolve(mountpoint);
      const timeout = Number(options.timeout);
      if (!Number.isFinite(timeout) || timeout <= 0) {
        throw new FsError('EINVAL', `--timeout must be a positive number of seconds, got '${options.timeout}'`);
      }
      const pid = await servingPid(ctx, path);
      if (pid === undefined) await unmountWithoutServer(path);
      else await stopServer(pid, path, timeout);
      process.stderr.write(`unmounted ${path}\n`);
    });
}

/** The pid of the live storaged process serving `mountpoint`, from its pid file. */
async function servingPid(ctx: CliContext, mountpoint: string): Promise<number | undefined> {
  let cacheDir: string;
  try {
    cacheDir = ctx.config.cache.dir;
  } catch {
    return undefined; // no usable config: no pid file to find, fusermount still works
  }
  const pid = await readPidFile(pidFilePath(cacheDir, mountpoint));
  return pid !== undefined && (await servesFuse(pid)) ? pid : undefined;
}

/** SIGTERM to the server, then waits until it exited and the mount is gone. */
async function stopServer(pid: number, mountpoint: string, timeoutS: number): Promise<void> {
  process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + timeoutS * 1000;
  while (Date.now() < deadline) {
    if (!processAlive(pid) && (await findMount(mountpoint)) === undefined) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new FsError(
    'ETIMEDOUT',
    `storaged (pid ${pid}) is still finishing pending uploads for '${mountpoint}' after ${timeoutS} s; it exits when done. ` +
      `Wait longer with --timeout, or send it a second SIGTERM (kill ${pid}) to unmount at once and keep pending uploads for the next start`,
    { path: mountpoint, op: 'unmount' },
  );
}

/** Unmounts a FUSE mount no storaged process serves: lazily when dead, plainly otherwise. */
async function unmountWithoutServer(mountpoint: string): Promise<void> {
  const entry = await findMount(mountpoint);
  if (entry === undefined) throw new FsError('EINVAL', `'${mountpoint}' is not mounted`, { path: mountpoint, op: 'unmount' });
  if (!entry.fstype.startsWith('fuse')) {
    throw new FsError('EINVAL', `'${mountpoint}' is a ${entry.fstype} mount, not a storaged one`, { path: mountpoint, op: 'unmount' });
  }
  const dead = (await probeMount(mountpoint)) === 'dead';
  try {
    await fusermount([dead ? '-uz' : '-u', mountpoint]);
  } catch (err) {
    if (err instanceof FsError && err.code === 'EBUSY') {
      throw new FsError('EBUSY', `'${mountpoint}' is busy: files or folders in it are still open; close them and retry`, {
        path: mountpoint,
        op: 'unmount',
        cause: err,
      });
    }
    throw err;
  }
}
