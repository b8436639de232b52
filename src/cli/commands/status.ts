import { readdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import type { WatchStatus } from '../../daemon/hooks/dispatcher-types.js';
import { hooksDirectory } from '../../daemon/hooks/hooks-paths.js';
import type { DiskStatus, FailingOperation } from '../../daemon/status.js';
import { mountsDir, processAlive, readPidFile } from '../../fuse/pidfile.js';
import { controlSocketPath } from '../../http/control-paths.js';
import type { CliContext } from '../context.js';
import { getStatus } from '../control-client.js';
import { formatError } from '../errors.js';
import { out } from '../output.js';

/** Longest list of in-flight paths and failing operations printed per disk (the rest is counted). */
const MAX_LISTED = 10;

/**
 * Registers `storaged status [mountpoint] [--json]`: the write-back state of
 * one mount, or of every mount whose pid file in the cache folder names a
 * live process. Prints pending, in-flight and failing operations, totals,
 * cache use and dedup savings per disk; `--json` prints an array of
 * DiskStatus. No mount running: says so, exit 0. With local watched
 * folders configured, the text output ends with their jobs (read from the
 * database of `storaged watch`, running or not). A mount that does not
 * answer on its control socket: one `storaged:` line on stderr, exit 1
 * (the others are still printed).
 */
export function registerStatusCommands(program: Command, ctx: CliContext): void {
  program
    .command('status')
    .description('show pending uploads, failures, cache use and dedup savings of running mounts')
    .argument('[mountpoint]', 'one mounted folder (default: every running mount)')
    .option('--json', 'print a JSON array of disk status objects')
    .action(async (mountpoint: string | undefined, options: { json?: boolean }) => {
      const cacheDir = ctx.config.cache.dir;
      const mountpoints = mountpoint === undefined ? await runningMounts(cacheDir) : [resolve(mountpoint)];
      const statuses: DiskStatus[] = [];
      let failed = false;
      for (const mount of mountpoints) {
        try {
          statuses.push(await getStatus(controlSocketPath(cacheDir, mount), { mountpoint: mount }));
        } catch (err) {
          process.stderr.write(formatError(err).join('\n') + '\n');
          failed = true;
        }
      }
      if (options.json) await out(JSON.stringify(statuses, null, 2) + '\n');
      else if (mountpoints.length === 0) await out('no storaged mount is running\n');
      else if (statuses.length > 0) await out(statuses.map((s) => formatDiskStatus(s)).join('\n'));
      // Local watched folders run in `storaged watch`: their jobs are read from its database.
      if (!options.json && ctx.config.watches.some((watch) => watch.kind === 'local')) {
        const { readWatchStatuses } = await import('../../daemon/hooks/watch-status.js');
        const local = readWatchStatuses(hooksDirectory(cacheDir, {}));
        if (local !== undefined) await out('\n' + formatLocalWatches(local));
      }
      if (failed) process.exitCode = 1;
    });
}

/**
 * Mountpoints (sorted) of every pid file in `<cacheDir>/mounts` whose
 * process is alive. A pid file of a crashed mount is skipped.
 */
export async function runningMounts(cacheDir: string): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(mountsDir(cacheDir));
  } catch {
    return []; // no mounts folder: nothing ever mounted with this cache
  }
  const mounts: string[] = [];
  for (const name of names) {
    if (!name.endsWith('.pid')) continue;
    const pid = await readPidFile(join(mountsDir(cacheDir), name));
    if (pid === undefined || !processAlive(pid)) continue;
    try {
      mounts.push(decodeURIComponent(name.slice(0, -'.pid'.length)));
    } catch {
      // not a name storaged wrote: ignore it
    }
  }
  return mounts.sort();
}

/** The human-readable block `storaged status` prints for one disk, ending in a newline. */
export function formatDiskStatus(status: DiskStatus, nowMs = Date.now()): string {
  const { pending, totals, cache, dedup } = status;
  const lines = [`disk ${status.disk} at ${status.mountpoint} (pid ${status.pid})`];
  const row = (label: string, text: string) => lines.push(`  ${label.padEnd(10)}  ${text}`);
  row(
    'pending',
    pending.operations === 0
      ? 'nothing, everything is uploaded'
      : `${count(pending.operations, 'operation')}, ${count(pending.uploads, 'upload')} (${formatBytes(pending.bytes)})`,
  );
  row('in flight', status.inFlight.length === 0 ? 'none' : `${status.inFlight.length}: ${listed(status.inFlight)}`);
  const held = status.held ?? [];
  if (held.length > 0) row('held', `${held.length} waiting for drop-folder checks: ${listed(held)}`);
  row('failing', status.failing.length === 0 ? 'none' : String(status.failing.length));
  for (const failure of status.failing.slice(0, MAX_LISTED)) lines.push(`    ${describeFailure(failure, nowMs)}`);
  if (status.failing.length > MAX_LISTED) lines.push(`    ... and ${status.failing.length - MAX_LISTED} more`);
  row(
    'totals',
    `${count(totals.done, 'operation')} done, ${count(totals.retries, 'retry', 'retries')}, ` +
      `${count(totals.uploads, 'upload')} (${formatBytes(totals.uploadedBytes)})`,
  );
  const limit = cache.maxBytes > 0 ? ` of ${formatBytes(cache.maxBytes)}` : '';
  row('cache', `${formatBytes(cache.bytes)}${limit} used, ${formatBytes(cache.dirtyBytes)} dirty (not uploaded yet)`);
  row(
    'dedup',
    dedup.files === 0
      ? 'nothing deduplicated yet'
      : `${count(dedup.files, 'file')}, ${formatBytes(dedup.bytesSaved)} and ${formatDuration(dedup.uploadMsSaved)} of uploads saved`,
  );
  lines.push(...watchLines(status.watches ?? [], nowMs));
  return lines.join('\n') + '\n';
}

/** The block `storaged status` prints for the local watched folders run by `storaged watch`, ending in a newline. */
export function formatLocalWatches(watches: readonly WatchStatus[], nowMs = Date.now()): string {
  return ['local watched folders (storaged watch)', ...(watches.length === 0 ? ['  no files yet'] : watchLines(watches, nowMs))].join('\n') + '\n';
}

/** One row per watched folder (jobs by state, running) and its failing jobs below it. */
function watchLines(watches: readonly WatchStatus[], nowMs: number): string[] {
  const lines: string[] = [];
  for (const watch of watches) {
    const states = Object.entries(watch.counts).filter(([, n]) => n > 0);
    lines.push(`  ${`watch ${watch.watch}`.padEnd(10)}  ${states.length === 0 ? 'no files yet' : `${states.map(([state, n]) => `${n} ${state}`).join(', ')}; ${watch.running} running`}`);
    for (const job of watch.failing.slice(0, MAX_LISTED)) {
      const wait = job.nextAtMs - nowMs;
      const error = job.lastError ? `${job.lastError.code}: ${job.lastError.message}` : 'unknown error';
      lines.push(`    ${job.path}: step ${job.step}, ${count(job.attempts, 'attempt')}, last error ${error}; ${wait > 0 ? `next try in ${formatDuration(wait)}` : 'retrying now'}`);
    }
    if (watch.failing.length > MAX_LISTED) lines.push(`    ... and ${watch.failing.length - MAX_LISTED} more`);
  }
  return lines;
}

/** `upload a/b.txt: 3 attempts, last error EIO: message; next try in 12 s` */
function describeFailure(failure: FailingOperation, nowMs: number): string {
  const wait = failure.retryAtMs - nowMs;
  const next = wait > 0 ? `next try in ${formatDuration(wait)}` : 'retrying now';
  return `${failure.kind} ${failure.path}: ${count(failure.attempts, 'attempt')}, last error ${failure.code}: ${failure.message}; ${next}`;
}

/** Up to MAX_LISTED items joined by commas, then how many more. */
function listed(items: string[]): string {
  const shown = items.slice(0, MAX_LISTED).join(', ');
  return items.length > MAX_LISTED ? `${shown} and ${items.length - MAX_LISTED} more` : shown;
}

/** `1 file`, `3 files`. */
function count(n: number, singular: string, plural = `${singular}s`): string {
  return `${n} ${n === 1 ? singular : plural}`;
}

const BYTE_UNITS = ['KiB', 'MiB', 'GiB', 'TiB', 'PiB'];

/** A byte count for people: `512 B`, `4.2 MiB`, `1.0 GiB` (binary units). */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  let value = bytes;
  let unit = 'B';
  for (const next of BYTE_UNITS) {
    if (value < 1024) break;
    value /= 1024;
    unit = next;
  }
  return `${value.toFixed(1)} ${unit}`;
}

/** A duration for people: `350 ms`, `3.2 s`, `4 min 5 s`, `2 h 10 min`. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const seconds = Math.round(ms / 1000);
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ${seconds % 60} s`;
  return `${Math.floor(seconds / 3600)} h ${Math.floor((seconds % 3600) / 60)} min`;
}
