import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { diskLocation } from '../describe.js';
import { columns, out } from '../output.js';

/** One configured disk as `storaged disks --json` prints it. */
export interface DiskSummary {
  name: string;
  driver: string;
  /** Root folder, bucket, container or host (never a secret). */
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
      const disks: DiskSummary[] = Object.entries(config.disks).map(([name, disk]) => ({
        name,
        driver: disk.driver,
        where: diskLocation(disk),
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
