/**
 * An in-memory model of a POSIX directory tree (files and directories only),
 * with the errno Linux gives for each operation, for the model-based test.
 * Paths are relative ('a/b'); '' is the root. Each operation returns an errno
 * name when it fails (the model is then unchanged) or null.
 */
export type ModelNode = { type: 'file'; data: Buffer } | { type: 'dir' };

const parentOf = (path: string) => (path.includes('/') ? path.slice(0, path.lastIndexOf('/')) : '');

export class FsModel {
  readonly nodes = new Map<string, ModelNode>();

  get(path: string): ModelNode | undefined {
    return path === '' ? { type: 'dir' } : this.nodes.get(path);
  }

  /** Names directly inside a directory, sorted. */
  children(dir: string): string[] {
    const prefix = dir === '' ? '' : `${dir}/`;
    return [...this.nodes.keys()]
      .filter((p) => p.startsWith(prefix) && !p.slice(prefix.length).includes('/'))
      .map((p) => p.slice(prefix.length))
      .sort();
  }

  /** ENOENT/ENOTDIR when a component above `path` is missing or a file. */
  private walkError(path: string): string | null {
    const parts = path.split('/');
    for (let i = 1; i < parts.length; i++) {
      const node = this.nodes.get(parts.slice(0, i).join('/'));
      if (node === undefined) return 'ENOENT';
      if (node.type !== 'dir') return 'ENOTDIR';
    }
    return null;
  }

  /** pwrite through open(O_WRONLY|O_CREAT): creates the file, zero-fills a hole. */
  write(path: string, offset: number, data: Buffer): string | null {
    const err = this.walkError(path);
    if (err) return err;
    const node = this.nodes.get(path);
    if (node?.type === 'dir') return 'EISDIR';
    const old = node?.data ?? Buffer.alloc(0);
    const next = Buffer.alloc(Math.max(old.length, offset + data.length));
    old.copy(next);
    data.copy(next, offset);
    this.nodes.set(path, { type: 'file', data: next });
    return null;
  }

  truncate(path: string, length: number): string | null {
    const err = this.walkError(path);
    if (err) return err;
    const node = this.nodes.get(path);
    if (node === undefined) return 'ENOENT';
    if (node.type === 'dir') return 'EISDIR';
    const next = Buffer.alloc(length);
    node.data.copy(next, 0, 0, Math.min(length, node.data.length));
    this.nodes.set(path, { type: 'file', data: next });
    return null;
  }

  /** The bytes a pread would return, or an errno. */
  read(path: string, offset: number, length: number): Buffer | string {
    const err = this.walkError(path);
    if (err) return err;
    const node = this.nodes.get(path);
    if (node === undefined) return 'ENOENT';
    if (node.type === 'dir') return 'EISDIR';
    return node.data.subarray(Math.min(offset, node.data.length), Math.min(offset + length, node.data.length));
  }

  mkdir(path: string): string | null {
    const err = this.walkError(path);
    if (err) return err;
    if (this.nodes.has(path)) return 'EEXIST';
    this.nodes.set(path, { type: 'dir' });
    return null;
  }

  unlink(path: string): string | null {
    const err = this.walkError(path);
    if (err) return err;
    const node = this.nodes.get(path);
    if (node === undefined) return 'ENOENT';
    if (node.type === 'dir') return 'EISDIR';
    this.nodes.delete(path);
    return null;
  }

  rmdir(path: string): string | null {
    const err = this.walkError(path);
    if (err) return err;
    const node = this.nodes.get(path);
    if (node === undefined) return 'ENOENT';
    if (node.type !== 'dir') return 'ENOTDIR';
    if (this.children(path).length > 0) return 'ENOTEMPTY';
    this.nodes.delete(path);
    return null;
  }

  /** rename(2) in Linux's order of checks (do_renameat2, then vfs_rename). */
  rename(from: string, to: string): string | null {
    const err = this.walkError(from) ?? this.walkError(to);
    if (err) return err;
    const source = this.nodes.get(from);
    if (source === undefined) return 'ENOENT';
    if (from === to) return null;
    if (to.startsWith(`${from}/`)) return 'EINVAL';
    if (from.startsWith(`${to}/`)) return 'ENOTEMPTY';
    const target = this.nodes.get(to);
    if (target !== undefined) {
      if (source.type === 'dir' && target.type !== 'dir') return 'ENOTDIR';
      if (source.type !== 'dir' && target.type === 'dir') return 'EISDIR';
      if (target.type === 'dir' && this.children(to).length > 0) return 'ENOTEMPTY';
    }
    const moved = [...this.nodes.entries()].filter(([p]) => p === from || p.startsWith(`${from}/`));
    for (const [p] of moved) this.nodes.delete(p);
    this.nodes.delete(to);
    for (const [p, node] of moved) this.nodes.set(to + p.slice(from.length), node);
    return null;
  }

  /** Every path, sorted. */
  paths(): string[] {
    return [...this.nodes.keys()].sort();
  }

  /** The directory that holds `path`. */
  static parent = parentOf;
}
