import { constants } from 'node:fs';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SqliteMetadataIndex } from '../../../src/daemon/meta/index.js';
import type { RemoteChild } from '../../../src/daemon/meta/types.js';
import { ROOT_INO } from '../../../src/daemon/vfs/types.js';
import { dirNode, expectCode, expectDirectoryLinkCounts, fakeClock, fileNode, mkdirs, openIndex, OWNER, tempFolder, treeOf } from './helpers.js';

const temp = tempFolder('meta-reconcile');
afterAll(temp.cleanup);
let index: SqliteMetadataIndex;
let counter = 0;
const NOW = 1_750_000_000_000;

beforeEach(() => {
  index = openIndex(`${temp.dir}/case-${++counter}`, fakeClock().now);
});
afterEach(() => {
  expectDirectoryLinkCounts(index);
  index.close();
});

const file = (name: string, fields: Partial<RemoteChild> = {}): RemoteChild => ({ name, type: 'file', size: 10, mtimeMs: 1_700_000_000_000, etag: `"${name}-1"`, ...fields });
const dir = (name: string, fields: Partial<RemoteChild> = {}): RemoteChild => ({ name, type: 'directory', size: 0, mtimeMs: 0, ...fields });
const ino = (path: string): number => index.resolve(path)!.ino;

describe('reconcileDirectory', () => {
  it('adds missing children with defaults, remote version and listing time', () => {
    const result = index.reconcileDirectory(ROOT_INO, [file('a.txt'), dir('sub'), file('s', { symlinkTarget: 'a.txt', size: 5 })], NOW);
    expect(result).toEqual({ added: 3, updated: 0, removed: 0, changed: [], conflicts: [] });
    expect(treeOf(index)).toEqual(['a.txt', 's -> a.txt', 'sub/']);
    const a = index.resolve('a.txt')!;
    expect(a).toMatchObject({ type: 'file', mode: constants.S_IFREG | 0o644, ...OWNER, size: 10, nlink: 1, state: 'clean' });
    expect(a.remote).toEqual({ etag: '"a.txt-1"', size: 10, mtimeMs: 1_700_000_000_000 });
    expect([a.atimeNs, a.mtimeNs, a.ctimeNs]).toEqual(Array(3).fill(1_700_000_000_000_000_000n));
    expect(index.resolve('sub')).toMatchObject({ type: 'directory', mode: constants.S_IFDIR | 0o755, nlink: 2, size: 0 });
    expect(index.resolve('s')).toMatchObject({ type: 'symlink', mode: constants.S_IFLNK | 0o777, target: 'a.txt', size: 5 });
    expect(index.listedAt(ROOT_INO)).toBe(NOW);
    expect(index.listedAt(ino('sub'))).toBeUndefined();
    expect(index.root().nlink).toBe(3);
  });

  it('takes POSIX attributes from the child, forcing type bits, and mtimeNs over mtimeMs', () => {
    index.reconcileDirectory(ROOT_INO, [file('f', { mode: 0o4750, uid: 7, gid: 8, mtimeNs: 1_700_000_000_123_456_789n }), dir('d', { mode: 0o100700 })], NOW);
    expect(index.resolve('f')).toMatchObject({ mode: constants.S_IFREG | 0o4750, uid: 7, gid: 8, mtimeNs: 1_700_000_000_123_456_789n });
    expect(index.resolve('d')!.mode).toBe(constants.S_IFDIR | 0o700);
  });

  it('leaves unchanged children alone and refreshes clean ones whose version changed', () => {
    index.reconcileDirectory(ROOT_INO, [file('same'), file('etag'), file('noetag', { etag: undefined })], NOW);
    const same = index.resolve('same')!;
    const changed = index.resolve('etag')!;
    index.setBlock(same.ino, { index: 0, hash: 'keep', size: 10 });
    index.setBlock(changed.ino, { index: 0, hash: 'drop', size: 10 });
    index.update(changed.ino, { mode: 0o600, uid: 99, contentHash: 'old' });
    index.setXattr(changed.ino, 'user.k', Buffer.from('v'));

    const result = index.reconcileDirectory(
      ROOT_INO,
      [file('same'), file('etag', { etag: '"etag-2"', size: 20, mtimeMs: 1_800_000_000_000 }), file('noetag', { etag: undefined, size: 11 })],
      NOW + 1,
    );
    expect(result).toEqual({ added: 0, updated: 2, removed: 0, changed: [changed.ino, ino('noetag')].sort((a, b) => a - b), conflicts: [] });
    expect(index.get(same.ino)).toEqual(same);
    expect(index.blocks(same.ino)).toHaveLength(1);
    const refreshed = index.get(changed.ino)!;
    expect(refreshed).toMatchObject({ size: 20, mode: constants.S_IFREG | 0o600, uid: 99, mtimeNs: 1_800_000_000_000_000_000n, state: 'clean' });
    expect(refreshed.remote).toEqual({ etag: '"etag-2"', size: 20, mtimeMs: 1_800_000_000_000 });
    expect(refreshed.contentHash).toBeUndefined();
    expect(refreshed.ctimeNs).toBeGreaterThan(changed.ctimeNs);
    expect(index.blocks(changed.ino)).toEqual([]);
    expect(index.getXattr(changed.ino, 'user.k')!.toString()).toBe('v');
    expect(index.resolve('noetag')!.size).toBe(11);
    expect(index.listedAt(ROOT_INO)).toBe(NOW + 1);
  });

  it('same etag means unchanged even when size/mtime report differently; etag-less compares size and mtime', () => {
    index.reconcileDirectory(ROOT_INO, [file('e'), file('m', { etag: undefined })], NOW);
    const result = index.reconcileDirectory(ROOT_INO, [file('e', { mtimeMs: 5 }), file('m', { etag: undefined, mtimeMs: 1_700_000_000_001 })], NOW);
    expect(result.updated).toBe(1);
    expect(index.resolve('e')!.remote!.mtimeMs).toBe(1_700_000_000_000);
    expect(index.resolve('m')!.remote!.mtimeMs).toBe(1_700_000_000_001);
  });

  it('removes clean children the backend no longer has, directories recursively', () => {
    index.reconcileDirectory(ROOT_INO, [file('keep'), file('gone'), dir('tree')], NOW);
    index.reconcileDirectory(ino('tree'), [file('x'), dir('inner')], NOW);
    index.reconcileDirectory(ino('tree/inner'), [file('y')], NOW);
    const inner = ino('tree/inner');
    const y = ino('tree/inner/y');
    index.setBlock(y, { index: 0, hash: 'h', size: 10 });
    const before = index.counts().nodes;

    const result = index.reconcileDirectory(ROOT_INO, [file('keep')], NOW);
    expect(result).toEqual({ added: 0, updated: 0, removed: 2, changed: [], conflicts: [] });
    expect(treeOf(index)).toEqual(['keep']);
    expect(index.counts().nodes).toBe(before - 5);
    expect(index.get(inner)).toBeUndefined();
    expect(index.get(y)).toBeUndefined();
    expect(index.blocks(y)).toEqual([]);
    expect(index.listedAt(inner)).toBeUndefined();
  });

  it('keeps local nodes: new ones absent remotely, and clean ones never synced', () => {
    index.create(ROOT_INO, 'local-new', fileNode({ state: 'new' }));
    index.create(ROOT_INO, 'local-dirty', fileNode({ state: 'dirty', remote: { etag: 'x', size: 1, mtimeMs: 1 } }));
    index.create(ROOT_INO, 'clean-unsynced', dirNode({ state: 'clean' }));
    const result = index.reconcileDirectory(ROOT_INO, [], NOW);
    expect(result).toEqual({ added: 0, updated: 0, removed: 0, changed: [], conflicts: [] });
    expect(treeOf(index)).toEqual(['clean-unsynced/', 'local-dirty', 'local-new']);
  });

  it('keeps dirty and new nodes present remotely; reports a conflict when the remote changed', () => {
    const synced = { etag: '"d-1"', size: 10, mtimeMs: 1_700_000_000_000 };
    const unchanged = index.create(ROOT_INO, 'd', fileNode({ state: 'dirty', size: 3, remote: synced }));
    const changed = index.create(ROOT_INO, 'c', fileNode({ state: 'dirty', size: 3, remote: { ...synced, etag: '"c-0"' } }));
    const fresh = index.create(ROOT_INO, 'n', fileNode({ state: 'new', size: 4 }));
    const result = index.reconcileDirectory(ROOT_INO, [file('d', { etag: '"d-1"' }), file('c'), file('n')], NOW);
    expect(result).toEqual({ added: 0, updated: 0, removed: 0, changed: [], conflicts: [changed.ino, fresh.ino].sort((a, b) => a - b) });
    expect(index.get(unchanged.ino)).toEqual(unchanged);
    expect(index.get(changed.ino)).toMatchObject({ state: 'dirty', size: 3, remote: { etag: '"c-0"' } });
    expect(index.get(fresh.ino)).toMatchObject({ state: 'new', size: 4 });
  });

  it('replaces a clean node whose type changed remotely (file <-> directory)', () => {
    index.reconcileDirectory(ROOT_INO, [file('was-file'), dir('was-dir')], NOW);
    index.reconcileDirectory(ino('was-dir'), [file('child')], NOW);
    const oldFile = ino('was-file');
    const result = index.reconcileDirectory(ROOT_INO, [dir('was-file'), file('was-dir')], NOW);
    expect(result).toEqual({ added: 0, updated: 2, removed: 0, changed: [], conflicts: [] });
    expect(treeOf(index)).toEqual(['was-dir', 'was-file/']);
    expect(index.get(oldFile)).toBeUndefined();
    expect(index.resolve('was-file')!.nlink).toBe(2);
  });

  it('keeps a dirty node whose type changed remotely, as a conflict', () => {
    const local = index.create(ROOT_INO, 'x', fileNode({ state: 'dirty', remote: { size: 1, mtimeMs: 1 } }));
    const result = index.reconcileDirectory(ROOT_INO, [dir('x')], NOW);
    expect(result.conflicts).toEqual([local.ino]);
    expect(index.resolve('x')!.type).toBe('file');
  });

  it('a directory deleted remotely that holds local changes stays, local-only, with only them', () => {
    index.reconcileDirectory(ROOT_INO, [dir('d')], NOW);
    index.reconcileDirectory(ino('d'), [file('clean'), dir('sub'), dir('cleansub')], NOW);
    index.create(ino('d/sub'), 'mine', fileNode({ state: 'new' }));
    const result = index.reconcileDirectory(ROOT_INO, [], NOW);
    expect(result.removed).toBe(0);
    expect(treeOf(index)).toEqual(['d/', 'd/sub/', 'd/sub/mine']);
    expect(index.resolve('d')).toMatchObject({ state: 'new', nlink: 3 });
    expect(index.resolve('d')!.remote).toBeUndefined();
    expect(index.resolve('d/sub')!.state).toBe('new');
  });

  it('a directory is unchanged whatever its listing reports (S3 lists prefixes with time 0): its stored version and times stay', () => {
    index.reconcileDirectory(ROOT_INO, [dir('d', { mtimeMs: 1_700_000_000_000 })], NOW);
    index.reconcileDirectory(ino('d'), [file('inside')], NOW);
    const before = index.resolve('d')!;
    const block = { index: 0, hash: 'h', size: 10 };
    index.setBlock(ino('d/inside'), block);
    const result = index.reconcileDirectory(ROOT_INO, [dir('d', { mtimeMs: 0, size: 4096, etag: '"prefix"' })], NOW + 1);
    expect(result).toEqual({ added: 0, updated: 0, removed: 0, changed: [], conflicts: [] });
    expect(index.resolve('d')).toEqual(before);
    expect(index.blocks(ino('d/inside'))).toEqual([block]);
  });

  it('a directory kept local-only (or never synced) that the backend lists again gets its remote version back', () => {
    index.create(ROOT_INO, 'local', dirNode({ state: 'new' }));
    index.create(ROOT_INO, 'unsynced', dirNode({ state: 'clean' }));
    const result = index.reconcileDirectory(ROOT_INO, [dir('local', { mtimeMs: 5 }), dir('unsynced', { mtimeMs: 6 })], NOW);
    expect(result).toEqual({ added: 0, updated: 0, removed: 0, changed: [], conflicts: [] });
    expect(index.resolve('local')).toMatchObject({ state: 'clean', remote: { size: 0, mtimeMs: 5 }, mtimeNs: 1_600_000_000_000_000_001n });
    expect(index.resolve('unsynced')).toMatchObject({ state: 'clean', remote: { size: 0, mtimeMs: 6 } });
    // Now the backend can take them away again.
    expect(index.reconcileDirectory(ROOT_INO, [], NOW).removed).toBe(2);
  });

  it('keep: a node deleted remotely that the caller still uses loses its names but keeps its row (nlink 0)', () => {
    index.reconcileDirectory(ROOT_INO, [file('open'), file('closed'), dir('d')], NOW);
    index.reconcileDirectory(ino('d'), [file('deep-open')], NOW);
    const open = index.resolve('open')!;
    const deep = ino('d/deep-open');
    const closed = ino('closed');
    index.setBlock(open.ino, { index: 0, hash: 'h', size: 10 });
    const asked: number[] = [];
    const keep = (candidate: number) => {
      asked.push(candidate);
      return candidate === open.ino || candidate === deep;
    };
    const result = index.reconcileDirectory(ROOT_INO, [], NOW + 1, { keep });
    expect(result).toMatchObject({ removed: 3, changed: [] });
    expect(treeOf(index)).toEqual([]);
    expect(index.get(closed)).toBeUndefined();
    const kept = index.get(open.ino)!;
    expect(kept).toMatchObject({ nlink: 0, state: 'clean', remote: open.remote });
    expect(kept.ctimeNs).toBeGreaterThan(open.ctimeNs);
    expect(index.pathsOf(open.ino)).toEqual([]);
    expect(index.blocks(open.ino)).toHaveLength(1);
    expect(index.get(deep)).toMatchObject({ nlink: 0 });
    expect(asked).toContain(closed);
    index.forget(open.ino);
    index.forget(deep);
    expect(index.get(open.ino)).toBeUndefined();
    expect(index.get(deep)).toBeUndefined();
  });

  it('a remotely deleted hard link only loses that name', () => {
    index.reconcileDirectory(ROOT_INO, [file('a'), file('b')], NOW);
    const a = ino('a');
    index.link(a, ROOT_INO, 'c');
    index.reconcileDirectory(ROOT_INO, [file('b'), file('c', { etag: '"a-1"' })], NOW);
    expect(treeOf(index)).toEqual(['b', 'c']);
    expect(index.get(a)).toMatchObject({ nlink: 1 });
  });

  it('prefers the directory when the listing has a file and a directory of one name; skips invalid names', () => {
    const result = index.reconcileDirectory(ROOT_INO, [file('x'), dir('x'), file(''), file('a/b'), file('..')], NOW);
    expect(result.added).toBe(1);
    expect(treeOf(index)).toEqual(['x/']);
  });

  it('rejects a missing or non-directory inode and changes nothing', () => {
    index.create(ROOT_INO, 'f', fileNode());
    expectCode('ENOENT', () => index.reconcileDirectory(999, [file('a')], NOW));
    expectCode('ENOTDIR', () => index.reconcileDirectory(ino('f'), [file('a')], NOW));
    expect(treeOf(index)).toEqual(['f']);
  });

  it('reconciles 100,000 children in one transaction and lists them back (timings printed)', () => {
    const big = mkdirs(index, 'big');
    const children = Array.from({ length: 100_000 }, (_, i) => file(`file-${String(i).padStart(6, '0')}.dat`, { size: i }));
    // Wall and CPU time (user + system) of this process: on a shared machine wall time alone says little.
    const timings: Record<string, string> = {};
    const time = <T>(label: string, run: () => T): T => {
      const start = performance.now();
      const cpuStart = process.cpuUsage();
      const value = run();
      const cpu = process.cpuUsage(cpuStart);
      timings[label] = `${Math.round(performance.now() - start)} wall / ${Math.round((cpu.user + cpu.system) / 1000)} cpu`;
      return value;
    };

    expect(time('add 100k', () => index.reconcileDirectory(big.ino, children, NOW))).toMatchObject({ added: 100_000 });
    expect(time('unchanged 100k', () => index.reconcileDirectory(big.ino, children, NOW + 1))).toEqual({ added: 0, updated: 0, removed: 0, changed: [], conflicts: [] });
    const listed = time('children() 100k', () => index.children(big.ino));
    expect(listed).toHaveLength(100_000);
    expect(listed[12_345]!.name).toBe('file-012345.dat');
    expect(listed[12_345]!.node.size).toBe(12_345);
    const changedEvery10th = children.map((child, i) => (i % 10 === 0 ? { ...child, etag: '"v2"' } : child));
    const updated = time('update 10k of 100k', () => index.reconcileDirectory(big.ino, changedEvery10th, NOW + 2));
    expect(updated.updated).toBe(10_000);
    expect(updated.changed).toHaveLength(10_000);
    expect(time('lookup x1000', () => children.slice(0, 1000).every((child) => index.lookup(big.ino, child.name) !== undefined))).toBe(true);
    expect(time('remove 50k of 100k', () => index.reconcileDirectory(big.ino, children.slice(0, 50_000), NOW + 3)).removed).toBe(50_000);
    index.close();
    index = time('reopen', () => openIndex(`${temp.dir}/case-${counter}`));
    expect(time('children() 50k after reopen', () => index.children(ino('big'))).length).toBe(50_000);
    console.log(`metadata index timings (ms):\n${Object.entries(timings).map(([label, ms]) => `  ${label}: ${ms}`).join('\n')}`);
  });
});
