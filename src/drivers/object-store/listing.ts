import { FsError } from '../../core/errors.js';
import type { FileStat } from '../types.js';
import type { ObjectInfo, ObjectListing } from './adapter.js';

/**
 * Recursive-listing state carried in the cursor: the store's continuation
 * token and the previous object's key relative to the disk root. Because keys
 * sharing a prefix are contiguous in lexicographic order, a folder is emitted
 * exactly when the first key below it is seen, with no memory of the tree.
 */
interface RecursiveCursor {
  /** Store continuation token. */
  c?: string;
  /** Previous raw relative key (directory markers keep their trailing '/'). */
  l?: string;
}

/** Encodes recursive-listing state as an opaque cursor. */
export function encodeRecursiveCursor(state: RecursiveCursor): string {
  return 'r' + Buffer.from(JSON.stringify(state)).toString('base64url');
}

/** Decodes a cursor from encodeRecursiveCursor; EINVAL for anything else. */
export function decodeRecursiveCursor(cursor: string | undefined): RecursiveCursor {
  if (cursor === undefined) return {};
  try {
    if (!cursor.startsWith('r')) throw new Error('not a recursive cursor');
    const parsed = JSON.parse(Buffer.from(cursor.slice(1), 'base64url').toString('utf8')) as RecursiveCursor;
    if (typeof parsed !== 'object' || parsed === null) throw new Error('bad shape');
    return parsed;
  } catch {
    throw new FsError('EINVAL', `invalid listing cursor '${cursor.slice(0, 40)}'`, { op: 'list' });
  }
}

/** True for keys no path can name (empty segments, '.' or '..'): other tools may write them. */
export function isAddressable(relative: string): boolean {
  const body = relative.endsWith('/') ? relative.slice(0, -1) : relative;
  if (body === '') return false;
  return body.split('/').every((s) => s !== '' && s !== '.' && s !== '..');
}

/** A file entry from an object. */
export function fileEntry(path: string, info: ObjectInfo): FileStat {
  const entry: FileStat = { path, type: 'file', size: info.size, lastModified: info.lastModified };
  if (info.etag !== undefined) entry.etag = info.etag;
  if (info.mimeType !== undefined) entry.mimeType = info.mimeType;
  if (info.visibility !== undefined) entry.visibility = info.visibility;
  if (info.metadata !== undefined) entry.metadata = info.metadata;
  return entry;
}

/** A directory entry. */
export function directoryEntry(path: string, lastModified = new Date(0)): FileStat {
  return { path, type: 'directory', size: 0, lastModified };
}

/**
 * Turns one page of a flat (no delimiter) listing into entries: every file,
 * plus each folder at the first key below it. `dir` is the listed folder
 * relative to the disk root ('' for the root); `toRelative` strips the disk
 * prefix. Returns the entries and the last raw relative key for the cursor.
 */
export function recursivePage(
  listing: ObjectListing,
  dir: string,
  previous: string | undefined,
  toRelative: (key: string) => string,
): { entries: FileStat[]; last: string | undefined } {
  const entries: FileStat[] = [];
  let last = previous;
  for (const object of listing.objects) {
    const raw = toRelative(object.key);
    if (!isAddressable(raw)) continue;
    const isMarker = raw.endsWith('/');
    const path = isMarker ? raw.slice(0, -1) : raw;
    const segments = path.split('/');
    const depth = isMarker ? segments.length : segments.length - 1;
    for (let i = 1; i <= depth; i++) {
      const folder = segments.slice(0, i).join('/');
      if (folder.length <= dir.length) continue; // the listed folder itself and its ancestors
      if (last !== undefined && last.startsWith(folder + '/')) continue; // emitted on an earlier key
      entries.push(directoryEntry(folder, object.lastModified));
    }
    if (!isMarker) entries.push(fileEntry(path, object));
    last = raw;
  }
  return { entries, last };
}
