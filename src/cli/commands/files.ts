import { open } from 'node:fs/promises';
import { basename } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Command } from 'commander';
import { FsError, fromSystemError } from '../../core/errors.js';
import type { CliContext } from '../context.js';
import { out } from '../output.js';
import { showTarget, type Target } from '../target.js';

/** Registers `cat`, `put` and `rm`: single-file transfers and deletion. */
export function registerFileCommands(program: Command, ctx: CliContext): void {
  program
    .command('cat')
    .description('write a file to stdout')
    .argument('<target>', 'disk:path')
    .action(async (spec: string) => {
      const target = requireFile(ctx.target(spec), spec);
      const driver = await ctx.driver(target.disk);
      const stream = await driver.read(target.path);
      await copyToStdout(stream);
    });

  program
    .command('put')
    .description('upload a local file (or stdin, given as -) to a disk')
    .argument('<source>', 'local file, or - for stdin')
    .argument('<target>', 'disk:path (a trailing / or the bare disk: keeps the file name)')
    .action(async (source: string, spec: string) => {
      const target = destination(ctx.target(spec), spec, source);
      const { body, size, done } = await openSource(source);
      try {
        const driver = await ctx.driver(target.disk);
        const result = await driver.write(target.path, body, size === undefined ? {} : { size });
        await out(`${result.size} bytes written to ${showTarget(target)}\n`);
      } finally {
        await done();
      }
    });

  program
    .command('rm')
    .description('delete a file (or, with -r, a folder and everything below it)')
    .argument('<target>', 'disk:path')
    .option('-r, --recursive', 'delete folders and their contents')
    .action(async (spec: string, options: { recursive?: boolean }) => {
      const target = ctx.target(spec);
      if (target.path === '') {
        throw new FsError('EINVAL', `refusing to delete the root of disk '${target.disk}'`, { path: spec, op: 'rm' });
      }
      const driver = await ctx.driver(target.disk);
      const stat = await driver.stat(target.path);
      if (stat.type === 'file') {
        await driver.delete(target.path);
      } else if (options.recursive) {
        await driver.deleteDirectory(target.path);
      } else {
        throw new FsError('EISDIR', `rm '${spec}': is a directory (use rm -r)`, { path: spec, op: 'rm' });
      }
    });
}

/** EISDIR for the root, which cannot be a file. */
function requireFile(target: Target, spec: string): Target {
  if (target.path === '') throw new FsError('EISDIR', `'${spec}' names the root of disk '${target.disk}', not a file`, { path: spec });
  return target;
}

/** The upload destination: `disk:dir/` or `disk:` gets the source's file name appended. */
function destination(target: Target, spec: string, source: string): Target {
  const namesFolder = target.path === '' || spec.endsWith('/');
  if (!namesFolder) return target;
  if (source === '-') {
    throw new FsError('EINVAL', `'${spec}' names a folder; give a file name when uploading from stdin`, { path: spec, op: 'put' });
  }
  return { disk: target.disk, path: target.path === '' ? basename(source) : `${target.path}/${basename(source)}` };
}

/** The upload body: stdin for '-', else the opened file (ENOENT etc. before any upload starts). */
async function openSource(source: string): Promise<{ body: Readable; size?: number; done: () => Promise<void> }> {
  if (source === '-') return { body: process.stdin, done: async () => void process.stdin.destroy() };
  try {
    const handle = await open(source, 'r');
    const info = await handle.stat();
    if (info.isDirectory()) {
      await handle.close();
      throw new FsError('EISDIR', `'${source}' is a directory; put uploads one file`, { path: source, op: 'put' });
    }
    const body = handle.createReadStream({ autoClose: true });
    return { body, size: info.size, done: async () => void body.destroy() };
  } catch (err) {
    throw fromSystemError(err, { path: source, op: 'open' });
  }
}

/** Streams to stdout; a reader that goes away early (`| head`) is not an error. */
async function copyToStdout(stream: Readable): Promise<void> {
  try {
    await pipeline(stream, process.stdout, { end: false });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EPIPE') {
      stream.destroy();
      return;
    }
    throw fromSystemError(err, { op: 'cat' });
  }
}
