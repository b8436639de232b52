import { resolve } from 'node:path';
import type { Command } from 'commander';
import { controlSocketPath } from '../../http/control-paths.js';
import type { CliContext } from '../context.js';
import { requestSync } from '../control-client.js';
import { runningMounts } from './status.js';

/**
 * Registers `storaged sync [mountpoint]`: the running mount (every running
 * mount when none is named) sends everything pending to the backend now,
 * without waiting for the write-back delay, and the command returns when the
 * backend has it all. A backend that keeps failing makes it wait (see
 * `storaged status`); Ctrl-C stops waiting, the uploads go on.
 */
export function registerSyncCommand(program: Command, ctx: CliContext): void {
  program
    .command('sync')
    .description('upload everything pending now and wait until the backend has it')
    .argument('[mountpoint]', 'a mounted folder (default: every running mount)')
    .action(async (mountpoint: string | undefined) => {
      const mounts = mountpoint !== undefined ? [resolve(mountpoint)] : await runningMounts(ctx.config.cache.dir);
      for (const mount of mounts) {
        await requestSync(controlSocketPath(ctx.config.cache.dir, mount), { mountpoint: mount });
        process.stderr.write(`synced ${mount}\n`);
      }
    });
}
