import { join } from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import { suggest } from '../../core/config/errors.js';
import { FsError } from '../../core/errors.js';
import { HOOKS_DB_FILE, hooksDirectory } from '../../daemon/hooks/hooks-paths.js';
import type { MetadataSearchOptions } from '../../daemon/hooks/metadata-store.js';
import type { QueryNode } from '../../daemon/hooks/search/query-ast.js';
import { parseQuery } from '../../daemon/hooks/search/query-parser.js';
import type { FileMetadataRecord } from '../../daemon/hooks/types.js';
import type { CliContext } from '../context.js';
import { columns, out } from '../output.js';
import { formatBytes } from './status.js';

/** Files listed when --limit is not given. */
export const DEFAULT_LIST_LIMIT = 100;

const QUERY_HELP = `
Query (terms separated by spaces must all match; quote the whole query for your shell):
  type:image/jpeg  type:image/*  type:image    media type (* wildcards)
  name:*.jpg  holiday  "summer 2024"            file name (a bare word: part of the name)
  ext:jpg  path:inbox/2024/*  camera:"Canon EOS R5"  sha256:<hex>  watch:<name>  disk:<name>
  size>1MiB  size:1MiB..5MiB  width>=1920  height<1080
  taken>2024-01-01  taken:2024-06  taken:2024-01-01..2024-12-31  (UTC unless a zone is given)
  gps:yes  gps:no
  -term negates a term; a OR b matches either.
Example: storaged search media "type:image/jpeg taken>2024-01-01"
`;

/**
 * Registers `storaged search <disk-or-watch> [query...] [--json] [--limit N]`:
 * files of watched folders found in the metadata index (`<cache dir>/hooks.db`,
 * opened read-only, so it works while a mount or the daemon writes it). The
 * first argument is a configured disk (its watched folders' files) or a
 * watch name (that folder's files); a name that is both matches either;
 * neither is FsError EINVAL. The query words are joined with spaces
 * (a query starting with '-' needs no `--`). Prints a table (path, type,
 * size, dimensions, taken, camera) or, with --json, an array of
 * FileMetadataRecord. Nothing found: "no files match", exit 0. A bad query
 * is EINVAL naming the term and its column.
 */
export function registerSearchCommand(program: Command, ctx: CliContext): void {
  program
    .command('search')
    .description('find files of watched folders by metadata: type, name, size, dimensions, camera, time taken, GPS')
    .argument('<disk-or-watch>', 'a configured disk (every watched folder on it) or a watched folder')
    .argument('[query...]', 'the query (empty: every indexed file); see below')
    .option('--json', 'print a JSON array of metadata records')
    .option('--limit <n>', `list at most this many files (default ${DEFAULT_LIST_LIMIT})`, parseLimit)
    .allowUnknownOption() // `-camera:x` is a negated query term, not an option
    .addHelpText('after', QUERY_HELP)
    .action(async (name: string, words: string[], options: { json?: boolean; limit?: number }) => {
      const option = words.find((word) => word.startsWith('--'));
      if (option !== undefined) throw new FsError('EINVAL', `unknown option '${option}' (query terms never start with '--')`, { op: 'search' });
      const query = parseQuery(words.join(' '));
      const { node, scope } = scoped(name, query, ctx);
      const limit = options.limit ?? DEFAULT_LIST_LIMIT;
      // Loaded on use: other commands never load SQLite.
      const { openMetadataReader } = await import('../../daemon/hooks/metadata-store.js');
      const found: FileMetadataRecord[] = [];
      for (const dir of databaseDirs(name, ctx)) {
        const reader = openMetadataReader(join(dir, HOOKS_DB_FILE));
        try {
          found.push(...(reader?.store.search(node, { ...scope, limit: limit + 1 }) ?? []));
        } finally {
          reader?.close();
        }
      }
      found.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
      const more = found.length > limit;
      const records = found.slice(0, limit);
      if (options.json) await out(JSON.stringify(records, null, 2) + '\n');
      else if (records.length === 0) await out('no files match\n');
      else await out(formatTable(records) + (more ? `(the first ${limit} files; more match: raise --limit)\n` : ''));
    });
}

/** The folders whose hooks.db may hold files of the disk or watch `name` (hooksDirectory). */
function databaseDirs(name: string, ctx: CliContext): string[] {
  const dirs = new Set<string>();
  if (ctx.diskNames().includes(name)) dirs.add(hooksDirectory(ctx.config.cache.dir, { disk: name }));
  for (const watch of ctx.config.watches) if (watch.name === name) dirs.add(hooksDirectory(ctx.config.cache.dir, watch));
  return [...dirs];
}

/** Restricts `query` to the disk or watch `name`; EINVAL when it is neither. */
function scoped(name: string, query: QueryNode, ctx: CliContext): { node: QueryNode; scope: MetadataSearchOptions } {
  const disks = ctx.diskNames();
  const watches = ctx.config.watches.map((watch) => watch.name);
  const isDisk = disks.includes(name);
  const isWatch = watches.includes(name);
  if (isDisk && isWatch) {
    const either: QueryNode = {
      kind: 'or',
      terms: [
        { kind: 'equals', field: 'disk', value: name },
        { kind: 'equals', field: 'watch', value: name },
      ],
    };
    return { node: query.kind === 'all' ? either : { kind: 'and', terms: [either, query] }, scope: {} };
  }
  if (isDisk) return { node: query, scope: { disk: name } };
  if (isWatch) return { node: query, scope: { watch: name } };
  const hint = suggest(name, [...disks, ...watches]);
  throw new FsError(
    'EINVAL',
    `'${name}' is neither a configured disk nor a watched folder${hint ? ` (did you mean '${hint}'?)` : ''}; ` +
      `disks: ${disks.join(', ') || 'none'}; watched folders: ${watches.join(', ') || 'none'}`,
    { op: 'search' },
  );
}

/** The table: a header, then one row per record. */
export function formatTable(records: readonly FileMetadataRecord[]): string {
  const rows = [['PATH', 'TYPE', 'SIZE', 'DIMENSIONS', 'TAKEN', 'CAMERA']];
  for (const record of records) {
    rows.push([
      record.path,
      record.mime ?? '-',
      formatBytes(record.size),
      record.width !== undefined && record.height !== undefined ? `${record.width}x${record.height}` : '-',
      record.takenAtMs !== undefined ? formatTaken(record.takenAtMs) : '-',
      record.camera ?? '-',
    ]);
  }
  return columns(rows).join('\n') + '\n';
}

/** `2024-07-14 16:20:00` (UTC: the camera's wall clock when EXIF gave no zone). */
function formatTaken(ms: number): string {
  return new Date(ms).toISOString().replace('T', ' ').replace(/\.\d{3}Z$/, '');
}

function parseLimit(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) < 1) throw new InvalidArgumentError(`expected a positive whole number, got '${value}'`);
  return Number(value);
}
