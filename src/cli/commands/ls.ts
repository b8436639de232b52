import type { Command } from 'commander';
import { baseName } from '../../core/paths.js';
import type { FileStat } from '../../drivers/types.js';
import type { CliContext } from '../context.js';
import { out } from '../output.js';

/** Width of the size column in `ls -l`. */
const SIZE_WIDTH = 12;

/**
 * Registers `storaged ls [disk:path] [-l] [-R]`. A folder lists its entries
 * (names relative to it, folders with a trailing '/'), a file lists itself,
 * a missing path is ENOENT. Pages are printed as they arrive, each sorted.
 */
export function registerLsCommand(program: Command, ctx: CliContext): void {
  program
    .command('ls')
    .description('list a folder (or show a file); without disk: the default disk')
    .argument('[target]', 'disk:path (disk: alone is the root; omitted: the default disk\'s root)')
    .option('-l, --long', 'show type, size and modification time')
    .option('-R, --recursive', 'list everything below the folder')
    .action(async (spec: string | undefined, options: { long?: boolean; recursive?: boolean }) => {
      const target = ctx.target(spec ?? '');
      const driver = await ctx.driver(target.disk);
      const show = (entry: FileStat, name: string) => (options.long ? longLine(entry, name) : shortName(entry, name));
      if (target.path !== '') {
        const stat = await driver.stat(target.path);
        if (stat.type === 'file') {
          await out(`${show(stat, baseName(stat.path))}\n`);
          return;
        }
      }
      let cursor: string | undefined;
      do {
        const page = await driver.list(target.path, { recursive: options.recursive ?? false, ...(cursor ? { cursor } : {}) });
        const lines = page.entries
          .map((entry) => ({ entry, name: relativeName(entry.path, target.path) }))
          .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
          .map(({ entry, name }) => show(entry, name));
        if (lines.length > 0) await out(lines.join('\n') + '\n');
        cursor = page.cursor;
      } while (cursor);
    });
}

/** `entry` named relative to the listed folder `dir`. */
function relativeName(path: string, dir: string): string {
  return dir !== '' && path.startsWith(`${dir}/`) ? path.slice(dir.length + 1) : path;
}

function shortName(entry: FileStat, name: string): string {
  return entry.type === 'directory' ? `${name}/` : name;
}

/** `-  1234  2024-05-01T12:00:00Z  name` ('d' and '-' size for folders, '-' for an unknown time). */
function longLine(entry: FileStat, name: string): string {
  const isDir = entry.type === 'directory';
  const size = (isDir ? '-' : String(entry.size)).padStart(SIZE_WIDTH);
  const time = entry.lastModified.getTime() > 0 ? entry.lastModified.toISOString().replace(/\.\d{3}Z$/, 'Z') : '-'.padEnd(20);
  return `${isDir ? 'd' : '-'} ${size}  ${time}  ${shortName(entry, name)}`;
}
