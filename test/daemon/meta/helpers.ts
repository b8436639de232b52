import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import { FsError, type FsErrorCode } from '../../../src/core/errors.js';
import { openDatabase } from '../../../src/daemon/db.js';
import { openMetadataIndex, type SqliteMetadataIndex } from '../../../src/daemon/meta/index.js';
import type { NewNode, NodeRow } from '../../../src/daemon/meta/types.js';
import { ROOT_INO, type Ino } from '../../../src/daemon/vfs/types.js';

/** Owner the test indexes are opened with. */
export const OWNER = { uid: 1234, gid: 5678 };

/** A folder removed by the returned cleanup. */
export function tempFolder(prefix: string): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), `storaged-${prefix}-`));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A clock that advances 1 µs per call from a nanosecond time beyond 2^53. */
export function fakeClock(start = 1_700_000_000_123_456_789n): { now: () => bigint; current: () => bigint } {
  let time = start;
  return { now: () => (time += 1000n), current: () => time };
}

/** Opens (or reopens) the index in `<dir>/meta.db`. */
export function openIndex(dir: string, now?: () => bigint): SqliteMetadataIndex {
  const db = openDatabase(join(dir, 'meta.db'));
  return openMetadataIndex(db, { ...OWNER, ...(now ? { now } : {}) });
}

const T = 1_600_000_000_000_000_001n;

/** A new regular file with distinctive fields. */
export function fileNode(fields: Partial<NewNode> = {}): NewNode {
  return { type: 'file', mode: 0o100640, uid: 1, gid: 2, size: 0, atimeNs: T, mtimeNs: T, ctimeNs: T, state: 'new', ...fields };
}

/** A new directory. */
export function dirNode(fields: Partial<NewNode> = {}): NewNode {
  return fileNode({ type: 'directory', mode: 0o040750, ...fields });
}

/** A new symlink to `target`. */
export function symlinkNode(target: string): NewNode {
  return fileNode({ type: 'symlink', mode: 0o120777, target, size: Buffer.byteLength(target) });
}

/** The FsError code `run` throws (fails the test when it throws nothing or something else). */
export function codeOf(run: () => unknown): FsErrorCode {
  try {
    run();
  } catch (err) {
    expect(err).toBeInstanceOf(FsError);
    return (err as FsError).code;
  }
  throw new Error('expected an FsError, nothing was thrown');
}

/** Asserts that `fn` throws an FsError with `code`. */
export function expectCode(code: FsErrorCode, run: () => unknown): void {
  expect(codeOf(run)).toBe(code);
}

/** The tree below `dir` as sorted 'path' or 'path/' (directories) or 'path -> target' strings. */
export function treeOf(index: SqliteMetadataIndex, dir: Ino = ROOT_INO, prefix = ''): string[] {
  const out: string[] = [];
  for (const { name, node } of index.children(dir)) {
    const path = `${prefix}${name}`;
    if (node.type === 'directory') out.push(`${path}/`, ...treeOf(index, node.ino, `${path}/`));
    else if (node.type === 'symlink') out.push(`${path} -> ${node.target}`);
    else out.push(path);
  }
  return out;
}

/** Asserts that every directory below (and including) `dir` has nlink = 2 + its subdirectories. */
export function expectDirectoryLinkCounts(index: SqliteMetadataIndex, dir: Ino = ROOT_INO): void {
  const children = index.children(dir);
  const subdirs = children.filter((child) => child.node.type === 'directory');
  expect(index.get(dir)!.nlink, `nlink of directory ${dir}`).toBe(2 + subdirs.length);
  for (const sub of subdirs) expectDirectoryLinkCounts(index, sub.node.ino);
}

/** Creates directories along `path` below the root; returns the last. */
export function mkdirs(index: SqliteMetadataIndex, path: string): NodeRow {
  let node = index.root();
  for (const name of path.split('/')) node = index.lookup(node.ino, name) ?? index.create(node.ino, name, dirNode());
  return node;
}
