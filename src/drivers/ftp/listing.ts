import { FileType, type FileInfo } from 'basic-ftp';
import { FsError } from '../../core/errors.js';
import type { EntryType } from '../types.js';

/** Name prefix of in-flight uploads (written, then renamed onto the final name); never listed. */
export const TEMP_PREFIX = '.storaged-tmp-';

/** True for names the driver uses internally and hides from listings. */
export function isInternalName(name: string): boolean {
  return name.startsWith(TEMP_PREFIX);
}

/** One entry of a folder as LIST reports it. */
export interface FolderEntry {
  name: string;
  type: EntryType;
  size: number;
  /** From LIST: minute resolution at best (epoch 0 when the date is unreadable). */
  lastModified: Date;
}

/**
 * A folder's entries sorted by name (UTF-16 code unit order), internal
 * names left out; an empty array when the folder does not exist.
 * `folder` is relative to the listing's directory ('' is that directory).
 */
export type FolderReader = (folder: string) => Promise<FolderEntry[]>;

/** One page of a walk: entries with paths relative to the listed directory. */
export interface WalkPage {
  entries: Array<{ path: string; entry: FolderEntry }>;
  cursor?: string;
}

/** Entries per page when the caller gives no pageSize. */
export const DEFAULT_PAGE_SIZE = 1000;

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];

/**
 * Converts basic-ftp's parsed LIST lines into sorted FolderEntries. Symbolic
 * links count as files; '.', '..' and unknown types are dropped, and so are
 * internal names unless `includeInternal` (deleting a tree must see them).
 */
export function toFolderEntries(infos: FileInfo[], includeInternal = false, now = new Date()): FolderEntry[] {
  const entries: FolderEntry[] = [];
  for (const info of infos) {
    if (info.name === '.' || info.name === '..' || info.name === '') continue;
    if (!includeInternal && isInternalName(info.name)) continue;
    if (info.type === FileType.Unknown) continue;
    const type: EntryType = info.type === FileType.Directory ? 'directory' : 'file';
    entries.push({
      name: info.name,
      type,
      size: type === 'file' ? info.size : 0,
      lastModified: info.modifiedAt ?? parseListDate(info.rawModifiedAt, now),
    });
  }
  return entries.sort((a, b) => compareNames(a.name, b.name));
}

/**
 * Parses a Unix LIST date as UTC: "Nov 28 04:00" (within the last half
 * year: the year is guessed), "Jan 02 2020", or "2020-01-02 04:00". Epoch 0
 * when unreadable.
 */
export function parseListDate(raw: string, now = new Date()): Date {
  const text = raw.trim().replace(/\s+/g, ' ');
  const iso = /^(\d{4})-(\d{2})-(\d{2}) (\d{1,2}):(\d{2})$/.exec(text);
  if (iso) return new Date(Date.UTC(+iso[1]!, +iso[2]! - 1, +iso[3]!, +iso[4]!, +iso[5]!));
  const unix = /^(\S{3}) (\d{1,2}) (?:(\d{4})|(\d{1,2}):(\d{2}))$/.exec(text);
  const month = unix ? MONTHS.indexOf(unix[1]!.toLowerCase()) : -1;
  if (!unix || month < 0) return new Date(0);
  const day = +unix[2]!;
  if (unix[3] !== undefined) return new Date(Date.UTC(+unix[3], month, day));
  const hour = +unix[4]!;
  const minute = +unix[5]!;
  const guess = new Date(Date.UTC(now.getUTCFullYear(), month, day, hour, minute));
  // A date without a year is within the last six months: one in the future belongs to last year.
  if (guess.getTime() > now.getTime() + 86_400_000) guess.setUTCFullYear(now.getUTCFullYear() - 1);
  return guess;
}

/**
 * One page of a depth-first (pre-order) walk of the listed directory.
 * Shallow walks stay in the directory itself. The cursor is the path of the
 * last entry given (and whether the walk descends into it next), so it stays
 * small and survives entries added or removed between pages: the walk
 * resumes right after that name in each ancestor folder. Folders are read
 * lazily and at most once per page.
 */
export async function walkPage(read: FolderReader, recursive: boolean, pageSize: number, cursor?: string): Promise<WalkPage> {
  const limit = Math.max(1, Math.floor(pageSize));
  const stack = cursor === undefined ? [frame('', undefined)] : resumeStack(decodeCursor(cursor), recursive);
  const entries: WalkPage['entries'] = [];
  let last: { path: string; descend: boolean } | undefined;
  while (entries.length < limit) {
    const next = await advance(stack, read);
    if (!next) return { entries };
    entries.push(next);
    const descend = recursive && next.entry.type === 'directory';
    if (descend) stack.push(frame(next.path, undefined));
    last = { path: next.path, descend };
  }
  // Full page: give a cursor only when something is left, so the last page never comes back empty.
  if (!(await hasMore(stack, read)) || !last) return { entries };
  return { entries, cursor: encodeCursor(last.path, last.descend) };
}

interface Frame {
  folder: string;
  /** Resume after this name (undefined: from the start). */
  after: string | undefined;
  entries?: FolderEntry[];
  index: number;
}

function frame(folder: string, after: string | undefined): Frame {
  return { folder, after, index: 0 };
}

async function load(top: Frame, read: FolderReader): Promise<FolderEntry[]> {
  if (top.entries) return top.entries;
  const entries = await read(top.folder);
  top.entries = entries;
  const after = top.after;
  top.index = after === undefined ? 0 : entries.findIndex((e) => compareNames(e.name, after) > 0);
  if (top.index < 0) top.index = entries.length;
  return entries;
}

/** The next entry in walk order, or undefined when the walk is over. */
async function advance(stack: Frame[], read: FolderReader): Promise<{ path: string; entry: FolderEntry } | undefined> {
  while (stack.length > 0) {
    const top = stack[stack.length - 1] as Frame;
    const entries = await load(top, read);
    const entry = entries[top.index];
    if (!entry) {
      stack.pop();
      continue;
    }
    top.index++;
    return { path: top.folder === '' ? entry.name : `${top.folder}/${entry.name}`, entry };
  }
  return undefined;
}

async function hasMore(stack: Frame[], read: FolderReader): Promise<boolean> {
  while (stack.length > 0) {
    const top = stack[stack.length - 1] as Frame;
    const entries = await load(top, read);
    if (top.index < entries.length) return true;
    stack.pop();
  }
  return false;
}

function resumeStack(position: { path: string; descend: boolean }, recursive: boolean): Frame[] {
  const segments = position.path.split('/');
  if (!recursive && segments.length !== 1) throw badCursor('a deep cursor was given to a shallow listing');
  const stack = segments.map((name, i) => frame(segments.slice(0, i).join('/'), name));
  if (recursive && position.descend) stack.push(frame(position.path, undefined));
  return stack;
}

function encodeCursor(path: string, descend: boolean): string {
  return Buffer.from(JSON.stringify({ k: path, d: descend }), 'utf8').toString('base64url');
}

function decodeCursor(cursor: string): { path: string; descend: boolean } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw badCursor('it is not one this driver gave out');
  }
  const { k, d } = (parsed ?? {}) as { k?: unknown; d?: unknown };
  if (typeof k !== 'string' || typeof d !== 'boolean' || k.split('/').some((s) => s === '' || s === '.' || s === '..')) {
    throw badCursor('it is not one this driver gave out');
  }
  return { path: k, descend: d };
}

function badCursor(reason: string): FsError {
  return new FsError('EINVAL', `invalid listing cursor: ${reason}`, { op: 'list' });
}

function compareNames(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
