import { FsError } from '../../core/errors.js';
import type { FileStat, ListOptions, ListPage } from '../types.js';
import { compareKeys, type MemoryNode, type MemoryTree } from './tree.js';

const DEFAULT_PAGE_SIZE = 1000;

/** A validated list request: the page size and the key the previous page ended at. */
export interface ListQuery {
  pageSize: number;
  after?: string;
}

/** Validates pageSize and decodes the cursor (EINVAL for either being bad), before any work. */
export function parseListOptions(dir: string, options: ListOptions): ListQuery {
  const pageSize = options.pageSize ?? DEFAULT_PAGE_SIZE;
  if (!(Number.isInteger(pageSize) && pageSize > 0)) {
    throw new FsError('EINVAL', `list '${dir}': pageSize ${pageSize} is not a positive integer`, { path: dir, op: 'list' });
  }
  if (options.cursor === undefined) return { pageSize };
  if (!/^[A-Za-z0-9_-]+$/.test(options.cursor)) {
    throw new FsError('EINVAL', `list '${dir}': cursor '${options.cursor}' is not one this driver gave`, { path: dir, op: 'list' });
  }
  return { pageSize, after: Buffer.from(options.cursor, 'base64url').toString('utf8') };
}

/**
 * One page of directory `key`: its children (or, recursive, everything
 * below it) in key order, starting after `query.after`. The cursor is the
 * last key of the page, so entries added or removed between pages never
 * cause repeats. A missing directory is an empty page; a file is ENOTDIR.
 */
export function listPage(tree: MemoryTree, key: string, recursive: boolean, query: ListQuery): ListPage {
  const node = tree.get(key);
  if (node === undefined) return { entries: [] };
  if (node.kind === 'file') throw new FsError('ENOTDIR', `list '${key}': is a file, not a directory`, { path: key, op: 'list' });
  const keys = recursive ? tree.descendants(key) : tree.children(key);
  const after = query.after;
  const remaining = after === undefined ? keys : keys.filter((k) => compareKeys(k, after) > 0);
  const page = remaining.slice(0, query.pageSize);
  const entries = page.map((k) => describeNode(k, tree.get(k) as MemoryNode));
  const last = page[page.length - 1];
  return remaining.length > query.pageSize && last !== undefined ? { entries, cursor: encodeCursor(last) } : { entries };
}

/** The FileStat of a node. */
export function describeNode(key: string, node: MemoryNode): FileStat {
  if (node.kind === 'directory') return { path: key, type: 'directory', size: 0, lastModified: node.lastModified };
  return {
    path: key,
    type: 'file',
    size: node.size,
    lastModified: node.lastModified,
    etag: node.etag,
    mimeType: node.mimeType,
    visibility: node.visibility,
    metadata: { ...node.metadata },
  };
}

function encodeCursor(lastKey: string): string {
  return Buffer.from(lastKey, 'utf8').toString('base64url');
}
