import { lstat, readdir, realpath, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { FsError } from '../../core/errors.js';
import { isWithin, joinKey } from '../../core/paths.js';
import type { FileStat, ListPage } from '../types.js';
import { isTempName } from './atomic-write.js';
import { toFileStat } from './file-stat.js';
import { codeOf, type SafeRoot } from './safe-path.js';

/** Entries per page when the caller gives no pageSize, and the most we return. */
export const DEFAULT_PAGE_SIZE = 1000;
export const MAX_PAGE_SIZE = 10_000;

/** One listed entry and whether a recursive walk goes into it. */
interface WalkEntry {
  stat: FileStat;
  /** A real directory (not a symlink to one): recursive listings descend into it. */
  descend: boolean;
}

/** Options of listDirectory, already validated by the driver. */
export interface ListRequest {
  /** Real path of the directory being listed. */
  dirAbs: string;
  /** Its normalized key ('' for the root). */
  dirKey: string;
  recursive: boolean;
  cursor?: string;
  pageSize?: number;
}

/**
 * One page of a directory listing, walking the tree depth-first in sorted
 * name order, each directory before its contents. The cursor is the last key
 * returned (opaque to callers), so a page reads only the directories on the
 * way to it and after it: a huge tree is never loaded whole. Temporary write
 * files are hidden. Symlinks that stay inside the root are listed with their
 * target's type, but a walk does not descend into a symlinked directory (no
 * cycles, no entry twice); symlinks that leave the root or point nowhere are
 * left out.
 */
export async function listDirectory(root: SafeRoot, request: ListRequest): Promise<ListPage> {
  const pageSize = clampPageSize(request.pageSize);
  const after = request.cursor === undefined ? undefined : decodeCursor(request.cursor, request.dirKey);
  const resume = after === undefined ? undefined : relativeSegments(after, request.dirKey);
  const realRoot = await root.realRoot(request.dirKey);
  const entries: FileStat[] = [];
  const walker = walk(root, realRoot, request.dirAbs, request.dirKey, resume, request.recursive);
  for await (const entry of walker) {
    if (entries.length === pageSize) {
      await walker.return(undefined);
      const last = entries[entries.length - 1] as FileStat;
      return { entries, cursor: encodeCursor(last.path) };
    }
    entries.push(entry.stat);
  }
  return { entries };
}

async function* walk(
  root: SafeRoot,
  realRoot: string,
  dirAbs: string,
  dirKey: string,
  resume: string[] | undefined,
  recursive: boolean,
): AsyncGenerator<WalkEntry> {
  const names = await sortedNames(dirAbs);
  const [resumeName, ...resumeRest] = resume ?? [];
  for (const name of names) {
    if (resumeName !== undefined && name < resumeName) continue;
    const entry = await entryOf(root, realRoot, join(dirAbs, name), joinKey(dirKey, name));
    if (entry === undefined) continue;
    const resumingHere = name === resumeName;
    // The cursor's own entry was returned already; anything below it may not have been.
    if (!resumingHere) yield entry;
    if (!recursive || !entry.descend) continue;
    const inner = resumingHere && resumeRest.length > 0 ? resumeRest : undefined;
    yield* walk(root, realRoot, join(dirAbs, name), entry.stat.path, inner, recursive);
  }
}

async function entryOf(root: SafeRoot, realRoot: string, abs: string, key: string): Promise<WalkEntry | undefined> {
  try {
    const own = await lstat(abs, { bigint: true });
    if (own.isFile() || own.isDirectory()) return { stat: toFileStat(key, own), descend: own.isDirectory() };
    if (!own.isSymbolicLink()) return undefined; // sockets, fifos, devices: not storage entries
    const target = await realpath(abs);
    if (!root.isInside(target, realRoot)) return undefined;
    const followed = await stat(target, { bigint: true });
    if (!followed.isFile() && !followed.isDirectory()) return undefined;
    return { stat: toFileStat(key, followed), descend: false };
  } catch (err) {
    // Gone since readdir, a dangling link or a link loop: not an entry.
    if (['ENOENT', 'ENOTDIR', 'ELOOP'].includes(codeOf(err) ?? '')) return undefined;
    throw err;
  }
}

async function sortedNames(dirAbs: string): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(dirAbs);
  } catch (err) {
    // A directory removed or replaced while we walk simply has nothing more to list.
    if (codeOf(err) === 'ENOENT' || codeOf(err) === 'ENOTDIR') return [];
    throw err;
  }
  return names.filter((name) => !isTempName(name)).sort(compareNames);
}

function compareNames(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function clampPageSize(pageSize: number | undefined): number {
  if (pageSize === undefined) return DEFAULT_PAGE_SIZE;
  if (!Number.isFinite(pageSize) || pageSize < 1) {
    throw new FsError('EINVAL', `list: pageSize must be a positive number, got ${pageSize}`, { op: 'list' });
  }
  return Math.min(Math.floor(pageSize), MAX_PAGE_SIZE);
}

function relativeSegments(key: string, dirKey: string): string[] {
  const relative = dirKey === '' ? key : key.slice(dirKey.length + 1);
  return relative.split('/');
}

function encodeCursor(lastKey: string): string {
  return Buffer.from(JSON.stringify({ after: lastKey }), 'utf8').toString('base64url');
}

function decodeCursor(cursor: string, dirKey: string): string {
  let after: unknown;
  try {
    after = (JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as { after?: unknown }).after;
  } catch {
    after = undefined;
  }
  if (typeof after !== 'string' || after === '' || after === dirKey || !isWithin(after, dirKey)) {
    throw new FsError('EINVAL', `list '${dirKey}': the cursor '${cursor.slice(0, 40)}' does not belong to this listing`, {
      path: dirKey,
      op: 'list',
    });
  }
  return after;
}
