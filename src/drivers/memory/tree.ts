import { FsError } from '../../core/errors.js';
import { baseName, isWithin, parentKey } from '../../core/paths.js';
import type { Visibility } from '../types.js';

/** A stored file. Chunks are never mutated after the file is committed, so readers may hold them. */
export interface MemoryFile {
  readonly kind: 'file';
  readonly chunks: readonly Buffer[];
  readonly size: number;
  readonly lastModified: Date;
  readonly etag: string;
  readonly sha256: string;
  readonly mimeType: string;
  readonly visibility: Visibility;
  readonly metadata: Readonly<Record<string, string>>;
}

/** A real directory: it exists on its own, empty or not. */
export interface MemoryDirectory {
  readonly kind: 'directory';
  lastModified: Date;
  /** Names (last segments) of the entries directly inside. */
  readonly children: Set<string>;
}

export type MemoryNode = MemoryFile | MemoryDirectory;

/**
 * The memory driver's store: a map from normalized key to node, with the
 * root directory at ''. Every mutation checks all its preconditions before
 * changing anything, so a refused call leaves the tree as it was. One tree
 * may back several drivers (e.g. a "restarted" daemon seeing the same data).
 */
export class MemoryTree {
  private readonly nodes = new Map<string, MemoryNode>([['', newDirectory(new Date())]]);

  /** The node at `key`, or undefined. */
  get(key: string): MemoryNode | undefined {
    return this.nodes.get(key);
  }

  /**
   * Throws unless a file could be stored at `key`: EISDIR when a directory is
   * there, ENOTDIR when an ancestor is a file.
   */
  assertWritable(key: string): void {
    if (this.nodes.get(key)?.kind === 'directory') {
      throw new FsError('EISDIR', `write '${key}': a directory exists at this path`, { path: key, op: 'write' });
    }
    this.assertAncestorsAreDirectories(key, 'write');
  }

  /** Stores `file` at `key`, replacing any file there and creating parent directories. */
  putFile(key: string, file: MemoryFile): void {
    this.assertWritable(key);
    this.ensureAncestors(key, file.lastModified);
    this.nodes.set(key, file);
    this.parentOf(key).children.add(baseName(key));
  }

  /** Replaces the file at `key` (which must be a file) with `update(file)`. */
  updateFile(key: string, update: (file: MemoryFile) => MemoryFile): void {
    const node = this.nodes.get(key);
    if (node?.kind !== 'file') throw new FsError('ENOENT', `'${key}': no such file`, { path: key });
    this.nodes.set(key, update(node));
  }

  /**
   * Creates the directory `key` and its parents. Idempotent; EEXIST when a
   * file is at `key`, ENOTDIR when an ancestor is a file.
   */
  ensureDirectory(key: string, now: Date): void {
    const existing = this.nodes.get(key);
    if (existing?.kind === 'directory') return;
    if (existing?.kind === 'file') {
      throw new FsError('EEXIST', `createDirectory '${key}': a file exists at this path`, { path: key, op: 'createDirectory' });
    }
    this.assertAncestorsAreDirectories(key, 'createDirectory');
    this.ensureAncestors(key, now);
    this.nodes.set(key, newDirectory(now));
    this.parentOf(key).children.add(baseName(key));
  }

  /** Removes the file at `key`; returns false when there was none. */
  removeFile(key: string): boolean {
    if (this.nodes.get(key)?.kind !== 'file') return false;
    this.nodes.delete(key);
    this.parentOf(key).children.delete(baseName(key));
    return true;
  }

  /** Removes the directory `key` and everything below it ('' empties the root). */
  removeDirectory(key: string): void {
    if (this.nodes.get(key)?.kind !== 'directory') return;
    for (const below of this.descendants(key)) this.nodes.delete(below);
    if (key === '') {
      (this.nodes.get('') as MemoryDirectory).children.clear();
      return;
    }
    this.nodes.delete(key);
    this.parentOf(key).children.delete(baseName(key));
  }

  /** Keys of the entries directly inside directory `key`, sorted. */
  children(key: string): string[] {
    const node = this.nodes.get(key);
    if (node?.kind !== 'directory') return [];
    return [...node.children].map((name) => (key === '' ? name : `${key}/${name}`)).sort(compareKeys);
  }

  /** Keys of every entry below directory `key` (not itself), sorted. */
  descendants(key: string): string[] {
    const out: string[] = [];
    for (const candidate of this.nodes.keys()) {
      if (candidate !== key && candidate !== '' && isWithin(candidate, key)) out.push(candidate);
    }
    return out.sort(compareKeys);
  }

  private assertAncestorsAreDirectories(key: string, op: string): void {
    for (let dir = parentKey(key); dir !== ''; dir = parentKey(dir)) {
      if (this.nodes.get(dir)?.kind === 'file') {
        throw new FsError('ENOTDIR', `${op} '${key}': '${dir}' is a file, not a directory`, { path: key, op });
      }
    }
  }

  private ensureAncestors(key: string, now: Date): void {
    const missing: string[] = [];
    for (let dir = parentKey(key); dir !== '' && !this.nodes.has(dir); dir = parentKey(dir)) missing.push(dir);
    for (const dir of missing.reverse()) {
      this.nodes.set(dir, newDirectory(now));
      this.parentOf(dir).children.add(baseName(dir));
    }
  }

  private parentOf(key: string): MemoryDirectory {
    return this.nodes.get(parentKey(key)) as MemoryDirectory;
  }
}

/** Plain code-unit order, the order listings and cursors use. */
export function compareKeys(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function newDirectory(now: Date): MemoryDirectory {
  return { kind: 'directory', lastModified: now, children: new Set() };
}
