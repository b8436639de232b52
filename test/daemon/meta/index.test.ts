import { constants, openSync, closeSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SqliteMetadataIndex } from '../../../src/daemon/meta/index.js';
import { ROOT_INO } from '../../../src/daemon/vfs/types.js';
import { codeOf, dirNode, expectCode, expectDirectoryLinkCounts, fakeClock, fileNode, mkdirs, openIndex, OWNER, symlinkNode, tempFolder, treeOf } from './helpers.js';

const temp = tempFolder('meta-index');
afterAll(temp.cleanup);
let dir: string;
let index: SqliteMetadataIndex;
let clock: ReturnType<typeof fakeClock>;
let counter = 0;

beforeEach(() => {
  dir = `${temp.dir}/case-${++counter}`;
  clock = fakeClock();
  index = openIndex(dir, clock.now);
});
afterEach(() => index.close());

describe('root and create', () => {
  it('creates the root on first open: ino 1, S_IFDIR|0755, owner from options', () => {
    const root = index.root();
    expect(root).toMatchObject({ ino: ROOT_INO, type: 'directory', mode: constants.S_IFDIR | 0o755, ...OWNER, nlink: 2, state: 'clean' });
    expect(root.remote).toBeUndefined();
    expect(index.pathOf(ROOT_INO)).toBe('');
    expect(index.counts()).toEqual({ nodes: 1 });
  });

  it('creates files, directories and symlinks with exactly the given fields', () => {
    const file = index.create(ROOT_INO, 'a.txt', fileNode({ size: 42, contentHash: 'ab'.repeat(32), remote: { etag: '"e1"', size: 42, mtimeMs: 1234 } }));
    expect(file).toMatchObject({ type: 'file', mode: 0o100640, uid: 1, gid: 2, size: 42, nlink: 1, state: 'new', contentHash: 'ab'.repeat(32) });
    expect(file.remote).toEqual({ etag: '"e1"', size: 42, mtimeMs: 1234 });
    expect(index.get(file.ino)).toEqual(file);
    const sub = index.create(ROOT_INO, 'sub', dirNode());
    expect(sub).toMatchObject({ type: 'directory', nlink: 2 });
    const link = index.create(sub.ino, 'ln', symlinkNode('../a.txt'));
    expect(index.lookup(sub.ino, 'ln')).toMatchObject({ type: 'symlink', target: '../a.txt', size: 8, mode: 0o120777 });
    expect(link.target).toBe('../a.txt');
    expect(index.get(ROOT_INO)!.nlink).toBe(3);
    expect(index.counts()).toEqual({ nodes: 4 });
  });

  it('forces mode type bits to match the node type', () => {
    expect(index.create(ROOT_INO, 'f', fileNode({ mode: 0o4755 })).mode).toBe(constants.S_IFREG | 0o4755);
    expect(index.create(ROOT_INO, 'd', dirNode({ mode: constants.S_IFREG | 0o1777 })).mode).toBe(constants.S_IFDIR | 0o1777);
  });

  it('sets mtime and ctime of the parent directory', () => {
    const before = clock.current();
    index.create(ROOT_INO, 'x', fileNode());
    const root = index.root();
    expect(root.mtimeNs).toBeGreaterThan(before);
    expect(root.ctimeNs).toBe(root.mtimeNs);
  });

  it('uses the wall clock, strictly increasing, when no clock is given', () => {
    const wall = openIndex(`${dir}-wall`);
    try {
      const before = BigInt(Date.now()) * 1_000_000n;
      wall.create(ROOT_INO, 'a', fileNode());
      const first = wall.root().mtimeNs;
      wall.create(ROOT_INO, 'b', fileNode());
      const second = wall.root().mtimeNs;
      expect(first).toBeGreaterThanOrEqual(before);
      expect(second).toBeGreaterThan(first);
      expect(second).toBeLessThanOrEqual(BigInt(Date.now()) * 1_000_000n + 1_000_000n);
    } finally {
      wall.close();
    }
  });

  it('rejects taken names, missing or non-directory parents and invalid names', () => {
    const file = index.create(ROOT_INO, 'f', fileNode());
    expectCode('EEXIST', () => index.create(ROOT_INO, 'f', dirNode()));
    expectCode('ENOTDIR', () => index.create(file.ino, 'child', fileNode()));
    expectCode('ENOENT', () => index.create(999, 'child', fileNode()));
    for (const bad of ['', '.', '..', 'a/b', 'nul\0']) expectCode('EINVAL', () => index.create(ROOT_INO, bad, fileNode()));
    expect(index.counts()).toEqual({ nodes: 2 });
  });

  it('never reuses an inode number, even after the highest one is forgotten', () => {
    const a = index.create(ROOT_INO, 'a', fileNode());
    index.unlink(ROOT_INO, 'a');
    index.forget(a.ino);
    const b = index.create(ROOT_INO, 'b', fileNode());
    expect(b.ino).toBeGreaterThan(a.ino);
  });
});

describe('lookup, children, childCount', () => {
  it('lists children sorted by name bytes (UTF-8 order, case-sensitive)', () => {
    const names = ['b', 'B', 'a', 'é', 'z', '\u{1F600}', '\uFF21', 'a b', 'A'];
    for (const name of names) index.create(ROOT_INO, name, fileNode());
    const listed = index.children(ROOT_INO).map((child) => child.name);
    const byteOrder = [...names].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));
    expect(listed).toEqual(byteOrder);
    expect(index.childCount(ROOT_INO)).toBe(names.length);
    expect(index.lookup(ROOT_INO, 'é')!.ino).toBe(index.children(ROOT_INO).find((c) => c.name === 'é')!.node.ino);
    expect(index.lookup(ROOT_INO, 'É')).toBeUndefined();
    expect(index.lookup(ROOT_INO, 'missing')).toBeUndefined();
    expect(index.children(999)).toEqual([]);
  });
});

describe('hard links, unlink and forget', () => {
  it('link adds a name: nlink + 1, same node under both names', () => {
    const sub = index.create(ROOT_INO, 'sub', dirNode());
    const file = index.create(ROOT_INO, 'f', fileNode());
    const linked = index.link(file.ino, sub.ino, 'g');
    expect(linked.nlink).toBe(2);
    expect(index.lookup(sub.ino, 'g')!.ino).toBe(file.ino);
    expect(index.pathsOf(file.ino)).toEqual(['f', 'sub/g']);
    expect(index.pathOf(file.ino)).toBe('f');
    expect(linked.ctimeNs).toBeGreaterThan(file.ctimeNs);
    expectCode('EPERM', () => index.link(sub.ino, ROOT_INO, 'dirlink'));
    expectCode('EEXIST', () => index.link(file.ino, ROOT_INO, 'sub'));
    expectCode('ENOENT', () => index.link(999, ROOT_INO, 'x'));
    expectCode('ENOTDIR', () => index.link(file.ino, file.ino, 'x'));
  });

  it('unlink of one of several names decrements nlink; the last one reports lastLink and keeps the row', () => {
    const file = index.create(ROOT_INO, 'f', fileNode());
    index.link(file.ino, ROOT_INO, 'g');
    const first = index.unlink(ROOT_INO, 'f');
    expect(first.lastLink).toBe(false);
    expect(first.node.nlink).toBe(1);
    expect(index.pathOf(file.ino)).toBe('g');
    const last = index.unlink(ROOT_INO, 'g');
    expect(last.lastLink).toBe(true);
    expect(last.node.nlink).toBe(0);
    expect(index.get(file.ino)).toMatchObject({ ino: file.ino, nlink: 0 });
    expect(index.pathsOf(file.ino)).toEqual([]);
    expectCode('ENOENT', () => index.pathOf(file.ino));
    expectCode('ENOENT', () => index.unlink(ROOT_INO, 'g'));
    index.forget(file.ino);
    expect(index.get(file.ino)).toBeUndefined();
  });

  it('forget keeps nodes that still have a name, and the root', () => {
    const file = index.create(ROOT_INO, 'f', fileNode());
    index.setXattr(file.ino, 'user.k', Buffer.from('v'));
    index.setBlock(file.ino, { index: 0, hash: 'h0', size: 10 });
    index.forget(file.ino);
    index.forget(ROOT_INO);
    index.forget(12345);
    expect(index.get(file.ino)).toBeDefined();
    expect(index.root()).toBeDefined();
    index.unlink(ROOT_INO, 'f');
    index.forget(file.ino);
    expect(index.get(file.ino)).toBeUndefined();
    expect(index.blocks(file.ino)).toEqual([]);
    expect(index.listXattrs(file.ino)).toEqual([]);
  });

  it('unlink of a directory: ENOTEMPTY unless empty; then nlink 0, lastLink, parent nlink - 1', () => {
    const sub = index.create(ROOT_INO, 'sub', dirNode());
    index.create(sub.ino, 'inner', fileNode());
    expectCode('ENOTEMPTY', () => index.unlink(ROOT_INO, 'sub'));
    index.unlink(sub.ino, 'inner');
    expect(index.root().nlink).toBe(3);
    const gone = index.unlink(ROOT_INO, 'sub');
    expect(gone).toMatchObject({ lastLink: true, node: { ino: sub.ino, nlink: 0 } });
    expect(index.root().nlink).toBe(2);
    expectCode('ENOTDIR', () => index.unlink(index.create(ROOT_INO, 'file', fileNode()).ino, 'x'));
  });

  it('deletes nameless nodes left by a previous process on reopen', () => {
    const file = index.create(ROOT_INO, 'f', fileNode());
    const kept = index.create(ROOT_INO, 'kept', fileNode());
    index.unlink(ROOT_INO, 'f');
    index.close();
    index = openIndex(dir, clock.now);
    expect(index.get(file.ino)).toBeUndefined();
    expect(index.get(kept.ino)).toBeDefined();
  });
});

describe('update', () => {
  it('sets given fields, clears optional ones given as undefined, keeps the rest', () => {
    const file = index.create(ROOT_INO, 'f', fileNode({ contentHash: 'c1', remote: { etag: 'e', size: 1, mtimeMs: 2 } }));
    const updated = index.update(file.ino, { size: 99, mode: 0o600, state: 'dirty', mtimeNs: 2n ** 62n + 7n, contentHash: undefined });
    expect(updated).toMatchObject({ size: 99, mode: constants.S_IFREG | 0o600, state: 'dirty', mtimeNs: 2n ** 62n + 7n, uid: 1, gid: 2 });
    expect(updated.contentHash).toBeUndefined();
    expect(updated.remote).toEqual({ etag: 'e', size: 1, mtimeMs: 2 });
    expect(updated.ctimeNs).toBe(file.ctimeNs);
    const synced = index.update(file.ino, { state: 'clean', remote: { size: 99, mtimeMs: 5 }, uid: undefined });
    expect(synced.remote).toEqual({ size: 99, mtimeMs: 5 });
    expect(synced.uid).toBe(1);
    expect(index.update(file.ino, { remote: undefined }).remote).toBeUndefined();
    expectCode('ENOENT', () => index.update(999, { size: 1 }));
  });

  it('never changes ino or type, whatever the fields object holds', () => {
    const file = index.create(ROOT_INO, 'f', fileNode());
    const fields = { ino: ROOT_INO, type: 'directory', size: 5 } as unknown as Parameters<SqliteMetadataIndex['update']>[1];
    expect(index.update(file.ino, fields)).toMatchObject({ ino: file.ino, type: 'file', size: 5 });
    expect(index.root().type).toBe('directory');
  });

  it('round-trips nanosecond times exactly, beyond 2^53 and before the epoch', () => {
    const times = [0n, 1n, 2n ** 53n + 1n, 1_712_345_678_901_234_567n, 2n ** 63n - 1n, -(2n ** 63n), -1_000_000_001n];
    for (const [i, time] of times.entries()) {
      const node = index.create(ROOT_INO, `t${i}`, fileNode({ atimeNs: time, mtimeNs: time - 1n > -(2n ** 63n) ? time - 1n : time, ctimeNs: time }));
      const read = index.get(node.ino)!;
      expect(read.atimeNs).toBe(time);
      expect(read.ctimeNs).toBe(time);
      expect(typeof read.mtimeNs).toBe('bigint');
    }
    index.close();
    index = openIndex(dir, clock.now);
    for (const [i, time] of times.entries()) expect(index.lookup(ROOT_INO, `t${i}`)!.atimeNs).toBe(time);
  });
});

describe('paths', () => {
  it('pathOf, pathsOf and resolve walk the entries', () => {
    const deep = mkdirs(index, 'a/b/c');
    const file = index.create(deep.ino, 'file.txt', fileNode());
    expect(index.pathOf(file.ino)).toBe('a/b/c/file.txt');
    expect(index.pathsOf(ROOT_INO)).toEqual(['']);
    expect(index.resolve('a/b/c/file.txt')!.ino).toBe(file.ino);
    expect(index.resolve('/a//b/c/')!.ino).toBe(deep.ino);
    expect(index.resolve('')!.ino).toBe(ROOT_INO);
    expect(index.resolve('a/b/missing')).toBeUndefined();
    expect(index.resolve('a/b/c/file.txt/x')).toBeUndefined();
    expectCode('ENOENT', () => index.pathOf(999));
  });
});

describe('blocks and xattrs', () => {
  it('keeps a block map per file', () => {
    const file = index.create(ROOT_INO, 'f', fileNode());
    index.setBlock(file.ino, { index: 2, hash: 'h2', size: 5 });
    index.setBlock(file.ino, { index: 0, hash: 'h0', size: 1 << 20 });
    index.setBlock(file.ino, { index: 0, hash: 'h0b', size: 1 << 20 });
    expect(index.blocks(file.ino)).toEqual([
      { index: 0, hash: 'h0b', size: 1 << 20 },
      { index: 2, hash: 'h2', size: 5 },
    ]);
    expect(index.block(file.ino, 2)).toEqual({ index: 2, hash: 'h2', size: 5 });
    expect(index.block(file.ino, 1)).toBeUndefined();
    index.clearBlocks(file.ino);
    expect(index.blocks(file.ino)).toEqual([]);
    expectCode('ENOENT', () => index.setBlock(999, { index: 0, hash: 'h', size: 1 }));
  });

  it('stores binary xattr values, lists names sorted, removes them', () => {
    const file = index.create(ROOT_INO, 'f', fileNode());
    const binary = Buffer.from([0, 255, 1, 2, 0]);
    index.setXattr(file.ino, 'user.z', binary);
    index.setXattr(file.ino, 'user.a', Buffer.alloc(0));
    index.setXattr(file.ino, 'user.a', Buffer.from('second'));
    expect(index.getXattr(file.ino, 'user.z')).toEqual(binary);
    expect(index.getXattr(file.ino, 'user.a')!.toString()).toBe('second');
    expect(index.getXattr(file.ino, 'user.none')).toBeUndefined();
    expect(index.listXattrs(file.ino)).toEqual(['user.a', 'user.z']);
    expect(index.removeXattr(file.ino, 'user.a')).toBe(true);
    expect(index.removeXattr(file.ino, 'user.a')).toBe(false);
    expect(index.listXattrs(file.ino)).toEqual(['user.z']);
    index.setXattr(file.ino, 'user.empty', Buffer.alloc(0));
    expect(index.getXattr(file.ino, 'user.empty')).toEqual(Buffer.alloc(0));
    expectCode('ENOENT', () => index.setXattr(999, 'user.k', binary));
  });
});

describe('transactions and persistence', () => {
  it('rolls back everything when the function throws', () => {
    expect(() =>
      index.transaction(() => {
        index.create(ROOT_INO, 'a', fileNode());
        index.create(ROOT_INO, 'a', fileNode());
      }),
    ).toThrow();
    expect(index.lookup(ROOT_INO, 'a')).toBeUndefined();
    expect(index.transaction(() => index.create(ROOT_INO, 'b', fileNode()).ino)).toBe(index.lookup(ROOT_INO, 'b')!.ino);
  });

  it('reports a database corrupted below its header as EIO', () => {
    index.transaction(() => {
      for (let i = 0; i < 2000; i++) index.create(ROOT_INO, `file-${i}`, fileNode());
    });
    index.close();
    const file = join(dir, 'meta.db');
    const size = statSync(file).size;
    const fd = openSync(file, 'r+');
    writeSync(fd, Buffer.alloc(size - 8192, 0xff), 0, size - 8192, 8192);
    closeSync(fd);
    let reopened: SqliteMetadataIndex | undefined;
    expect(
      codeOf(() => {
        reopened = openIndex(dir, clock.now);
        reopened.children(ROOT_INO);
        for (let i = 0; i < 2000; i++) reopened.lookup(ROOT_INO, `file-${i}`);
      }),
    ).toBe('EIO');
    reopened?.close();
    index = openIndex(`${dir}-fresh`, clock.now);
  });

  it('reopens the same tree, attributes, links, xattrs, blocks and listing times', () => {
    const sub = mkdirs(index, 'docs/deep');
    const file = index.create(sub.ino, 'f', fileNode({ size: 7, remote: { size: 7, mtimeMs: 99 } }));
    index.link(file.ino, ROOT_INO, 'hard');
    index.create(ROOT_INO, 'sym', symlinkNode('docs/deep/f'));
    index.setXattr(file.ino, 'user.k', Buffer.from('v'));
    index.setBlock(file.ino, { index: 0, hash: 'h', size: 7 });
    index.reconcileDirectory(sub.ino, [{ name: 'f', type: 'file', size: 7, mtimeMs: 99 }], 1_700_000_000_000);
    const tree = treeOf(index);
    const nodes = index.children(ROOT_INO);
    index.close();

    index = openIndex(dir, clock.now);
    expect(treeOf(index)).toEqual(tree);
    expect(index.children(ROOT_INO)).toEqual(nodes);
    expect(index.get(file.ino)).toMatchObject({ nlink: 2, size: 7 });
    expect(index.pathsOf(file.ino)).toEqual(['docs/deep/f', 'hard']);
    expect(index.getXattr(file.ino, 'user.k')!.toString()).toBe('v');
    expect(index.blocks(file.ino)).toEqual([{ index: 0, hash: 'h', size: 7 }]);
    expect(index.listedAt(sub.ino)).toBe(1_700_000_000_000);
    expect(index.listedAt(ROOT_INO)).toBeUndefined();
    expect(index.root().uid).toBe(OWNER.uid);
    expectDirectoryLinkCounts(index);
  });
});
