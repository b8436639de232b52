import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SqliteMetadataIndex } from '../../../src/daemon/meta/index.js';
import { ROOT_INO } from '../../../src/daemon/vfs/types.js';
import { dirNode, expectCode, expectDirectoryLinkCounts, fakeClock, fileNode, mkdirs, openIndex, tempFolder, treeOf } from './helpers.js';

const temp = tempFolder('meta-rename');
afterAll(temp.cleanup);
let index: SqliteMetadataIndex;
let clock: ReturnType<typeof fakeClock>;
let counter = 0;

beforeEach(() => {
  clock = fakeClock();
  index = openIndex(`${temp.dir}/case-${++counter}`, clock.now);
});
afterEach(() => {
  expectDirectoryLinkCounts(index);
  index.close();
});

const ino = (path: string): number => index.resolve(path)!.ino;

describe('rename', () => {
  it('moves a file within a directory and across directories, keeping its inode', () => {
    const a = mkdirs(index, 'a');
    const b = mkdirs(index, 'b');
    const file = index.create(a.ino, 'f', fileNode());
    expect(index.rename(a.ino, 'f', a.ino, 'g')).toEqual({});
    expect(index.rename(a.ino, 'g', b.ino, 'h')).toEqual({});
    expect(treeOf(index)).toEqual(['a/', 'b/', 'b/h']);
    expect(ino('b/h')).toBe(file.ino);
    expect(index.pathOf(file.ino)).toBe('b/h');
  });

  it('sets both parents mtime/ctime and the moved node ctime', () => {
    const a = mkdirs(index, 'a');
    const b = mkdirs(index, 'b');
    const file = index.create(a.ino, 'f', fileNode());
    const before = clock.current();
    index.rename(a.ino, 'f', b.ino, 'f');
    for (const node of [index.get(a.ino)!, index.get(b.ino)!]) {
      expect(node.mtimeNs).toBeGreaterThan(before);
      expect(node.ctimeNs).toBe(node.mtimeNs);
    }
    const moved = index.get(file.ino)!;
    expect(moved.ctimeNs).toBeGreaterThan(before);
    expect(moved.mtimeNs).toBe(file.mtimeNs);
  });

  it('moves a directory with its subtree and fixes parent link counts', () => {
    mkdirs(index, 'src/sub/deeper');
    index.create(ino('src/sub'), 'file', fileNode());
    const dest = mkdirs(index, 'dest');
    index.rename(ROOT_INO, 'src', dest.ino, 'moved');
    expect(treeOf(index)).toEqual(['dest/', 'dest/moved/', 'dest/moved/sub/', 'dest/moved/sub/deeper/', 'dest/moved/sub/file']);
    expect(index.root().nlink).toBe(3);
    expect(index.get(dest.ino)!.nlink).toBe(3);
    expect(index.pathOf(ino('dest/moved/sub/file'))).toBe('dest/moved/sub/file');
  });

  it('is a no-op for the same entry and for two names of the same file', () => {
    const file = index.create(ROOT_INO, 'f', fileNode());
    index.link(file.ino, ROOT_INO, 'g');
    const before = index.get(file.ino)!;
    const rootBefore = index.root();
    expect(index.rename(ROOT_INO, 'f', ROOT_INO, 'f')).toEqual({});
    expect(index.rename(ROOT_INO, 'f', ROOT_INO, 'g')).toEqual({});
    expect(treeOf(index)).toEqual(['f', 'g']);
    expect(index.get(file.ino)).toEqual(before);
    expect(index.root()).toEqual(rootBefore);
  });

  it('replaces an existing file and returns it as unlinked', () => {
    const source = index.create(ROOT_INO, 'src', fileNode());
    const target = index.create(ROOT_INO, 'dst', fileNode());
    const { replaced } = index.rename(ROOT_INO, 'src', ROOT_INO, 'dst');
    expect(replaced).toMatchObject({ lastLink: true, node: { ino: target.ino, nlink: 0 } });
    expect(treeOf(index)).toEqual(['dst']);
    expect(ino('dst')).toBe(source.ino);
    expect(index.get(target.ino)).toBeDefined();
  });

  it('replacing a hard-linked file leaves its other name', () => {
    const target = index.create(ROOT_INO, 'dst', fileNode());
    index.link(target.ino, ROOT_INO, 'other');
    index.create(ROOT_INO, 'src', fileNode());
    const { replaced } = index.rename(ROOT_INO, 'src', ROOT_INO, 'dst');
    expect(replaced).toMatchObject({ lastLink: false, node: { ino: target.ino, nlink: 1 } });
    expect(index.pathsOf(target.ino)).toEqual(['other']);
  });

  it('replaces an empty directory with a directory, in the same and in another parent', () => {
    mkdirs(index, 'a/inner');
    mkdirs(index, 'emptyA');
    const sourceA = ino('a');
    const replacedA = index.rename(ROOT_INO, 'a', ROOT_INO, 'emptyA').replaced!;
    expect(replacedA.lastLink).toBe(true);
    expect(replacedA.node.nlink).toBe(0);
    expect(ino('emptyA')).toBe(sourceA);
    mkdirs(index, 'p/empty');
    mkdirs(index, 'q/child');
    const replaced = index.rename(ino('q'), 'child', ino('p'), 'empty').replaced!;
    expect(replaced.node.type).toBe('directory');
    expect(treeOf(index)).toEqual(['emptyA/', 'emptyA/inner/', 'p/', 'p/empty/', 'q/']);
  });

  it('rejects replacing a non-empty directory, a directory by a file and a file by a directory', () => {
    mkdirs(index, 'full/x');
    mkdirs(index, 'dir');
    index.create(ROOT_INO, 'file', fileNode());
    const tree = treeOf(index);
    expectCode('ENOTEMPTY', () => index.rename(ROOT_INO, 'dir', ROOT_INO, 'full'));
    expectCode('EISDIR', () => index.rename(ROOT_INO, 'file', ROOT_INO, 'dir'));
    expectCode('ENOTDIR', () => index.rename(ROOT_INO, 'dir', ROOT_INO, 'file'));
    expect(treeOf(index)).toEqual(tree);
  });

  it('rejects moving a directory into itself or below itself (EINVAL)', () => {
    mkdirs(index, 'a/b/c');
    expectCode('EINVAL', () => index.rename(ROOT_INO, 'a', ino('a'), 'x'));
    expectCode('EINVAL', () => index.rename(ROOT_INO, 'a', ino('a/b/c'), 'x'));
    expectCode('EINVAL', () => index.rename(ino('a'), 'b', ino('a/b/c'), 'b'));
    // Moving a directory up, into an ancestor of itself, is fine.
    index.rename(ino('a/b'), 'c', ROOT_INO, 'c');
    expect(treeOf(index)).toEqual(['a/', 'a/b/', 'c/']);
    // Renaming over an ancestor fails because the ancestor is not empty.
    mkdirs(index, 'p/q');
    expectCode('ENOTEMPTY', () => index.rename(ino('p'), 'q', ROOT_INO, 'p'));
  });

  it('rejects missing sources and parents, non-directory parents and invalid names', () => {
    const file = index.create(ROOT_INO, 'f', fileNode());
    expectCode('ENOENT', () => index.rename(ROOT_INO, 'missing', ROOT_INO, 'x'));
    expectCode('ENOENT', () => index.rename(999, 'f', ROOT_INO, 'x'));
    expectCode('ENOENT', () => index.rename(ROOT_INO, 'f', 999, 'x'));
    expectCode('ENOTDIR', () => index.rename(ROOT_INO, 'f', file.ino, 'x'));
    expectCode('ENOTDIR', () => index.rename(file.ino, 'x', ROOT_INO, 'y'));
    expectCode('EINVAL', () => index.rename(ROOT_INO, 'f', ROOT_INO, 'a/b'));
    expect(treeOf(index)).toEqual(['f']);
  });

  it('is atomic: a failed rename inside a transaction leaves nothing half done', () => {
    mkdirs(index, 'd/x');
    index.create(ROOT_INO, 'f', fileNode());
    expect(() =>
      index.transaction(() => {
        index.rename(ROOT_INO, 'f', ROOT_INO, 'g');
        index.rename(ROOT_INO, 'g', ROOT_INO, 'd');
      }),
    ).toThrow();
    expect(treeOf(index)).toEqual(['d/', 'd/x/', 'f']);
  });

  it('keeps directory link counts right through a sequence of moves', () => {
    mkdirs(index, 'a/b/c');
    mkdirs(index, 'x/y');
    index.create(ino('a/b'), 'file', fileNode());
    index.rename(ino('a'), 'b', ino('x/y'), 'b');
    expectDirectoryLinkCounts(index);
    index.rename(ino('x/y/b'), 'c', ROOT_INO, 'c');
    expectDirectoryLinkCounts(index);
    index.create(ROOT_INO, 'empty', dirNode());
    index.rename(ROOT_INO, 'c', ROOT_INO, 'empty');
    expect(treeOf(index)).toEqual(['a/', 'empty/', 'x/', 'x/y/', 'x/y/b/', 'x/y/b/file']);
  });
});
