import { InvalidArgumentError, type Command } from 'commander';
import type { CliContext } from '../context.js';
import { describeDisk, diskLabel } from '../describe.js';
import { oneLine } from '../errors.js';
import { out } from '../output.js';
import { probeDisk, type ProbeResult } from '../probe.js';

/** Seconds each disk may take for the whole probe, unless --timeout says otherwise. */
const DEFAULT_TIMEOUT_SECONDS = 15;

/**
 * Registers `storaged storage:test [disk] [--timeout SECONDS]`: probes every
 * disk (or the one named) concurrently and prints one OK/FAIL line per disk
 * in config order. Exit code 1 when any disk fails.
 */
export function registerStorageTestCommand(program: Command, ctx: CliContext): void {
  program
    .command('storage:test')
    .description('check that each disk can list, write, read back and delete a small probe object')
    .argument('[disk]', 'test only this disk')
    .option('--timeout <seconds>', 'time allowed per disk', parseSeconds, DEFAULT_TIMEOUT_SECONDS)
    .action(async (disk: string | undefined, options: { timeout: number }) => {
      const names = disk === undefined ? ctx.diskNames() : [disk];
      if (disk !== undefined) ctx.diskConfig(disk); // unknown disk: EINVAL before any probe
      const width = Math.max(...names.map((n) => n.length));
      // Build every driver first: loading a vendor SDK must not count against a disk's timeout.
      // A driver that fails to build is reported by its probe, which awaits the same promise.
      await Promise.all(names.map((name) => ctx.driver(name).catch(() => undefined)));
      const probes = names.map((name) => probeDisk(() => ctx.driver(name), options.timeout * 1000));
      let failed = false;
      let timedOut = false;
      for (const [i, name] of names.entries()) {
        const result = await probes[i]!;
        failed ||= !result.ok;
        timedOut ||= !result.ok && result.timedOut;
        await out(`${formatProbeLine(name.padEnd(width), diskLabel(describeDisk(name, ctx.config, ctx.decoratorDisks())), result)}\n`);
      }
      if (failed) process.exitCode = 1;
      if (timedOut) await ctx.close().then(() => process.exit(1)); // a hung request must not keep us alive
    });
}

/**
 * One line of storage:test output:
 * `OK   s3  (s3, bucket b)  list 12 ms, write 30 ms, read 8 ms, delete 9 ms` or
 * `FAIL s3  (s3, bucket b)  write: ECONNREFUSED <message>`.
 */
export function formatProbeLine(name: string, label: string, result: ProbeResult): string {
  if (result.ok) {
    const steps = result.timings.map((t) => `${t.step} ${Math.round(t.ms)} ms`).join(', ');
    return `OK   ${name}  ${label}  ${steps}`;
  }
  return `FAIL ${name}  ${label}  ${result.step}: ${result.error.code} ${oneLine(result.error.message)}`;
}

function parseSeconds(value: string): number {
  const seconds = Number(value);
  if (!Number.isFinite(seconds) || seconds <= 0) throw new InvalidArgumentError(`expected a positive number of seconds, got '${value}'`);
  return seconds;
}
