import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { describeDisk } from '../describe.js';
import { columns, out } from '../output.js';

/** One configured disk as `storaged disks --json` prints it. */
export interface DiskSummary {
  name: string;
  /** The driver; for a decorator disk, with what it wraps: `encrypted(s3)`. */
  driver: string;
  /** Root folder, bucket, container or host, plus what decorators add (never a secret). */
  where: string;
  default: boolean;
}

/** Registers `storaged disks [--json]`: the configured disks, the default marked with '*'. */
export function registerDisksCommand(program: Command, ctx: CliContext): void {
  program
    .command('disks')
    .description('list the configured disks (the default one is marked with *)')
    .option('--json', 'print JSON instead of a table')
    .action(async (options: { json?: boolean }) => {
      const config = ctx.config;
      const decorators = ctx.decoratorDisks();
      const disks: DiskSummary[] = ctx.diskNames().map((name) => ({
        name,
        ...describeDisk(name, config, decorators),
        default: name === config.defaultDisk,
      }));
      if (options.json) {
        await out(JSON.stringify(disks, null, 2) + '\n');
        return;
      }
      const rows = [['', 'NAME', 'DRIVER', 'WHERE'], ...disks.map((d) => [d.default ? '*' : ' ', d.name, d.driver, d.where])];
      const source = config.file ?? 'built-in default config (no config.yaml found)';
      await out(`${columns(rows).join('\n')}\n\nconfig: ${source}\n`);
    });
}
