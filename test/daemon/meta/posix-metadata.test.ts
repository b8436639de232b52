import { constants } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { FileStat } from '../../../src/drivers/types.js';
import {
  decodePosixMetadata,
  encodePosixMetadata,
  isSymlinkStat,
  POSIX_METADATA_KEYS,
  remoteChildFromStat,
} from '../../../src/daemon/meta/posix-metadata.js';
import type { NodeRow } from '../../../src/daemon/meta/types.js';

const node = (fields: Partial<NodeRow> = {}): NodeRow => ({
  ino: 5,
  type: 'file',
  mode: constants.S_IFREG | 0o4751,
  uid: 1000,
  gid: 4294967295,
  size: 3,
  atimeNs: 1n,
  mtimeNs: 1_712_345_678_901_234_567n,
  ctimeNs: 3n,
  nlink: 1,
  state: 'clean',
  ...fields,
});

describe('encodePosixMetadata / decodePosixMetadata', () => {
  it('writes the documented keys and round-trips exactly', () => {
    const meta = encodePosixMetadata(node());
    expect(meta).toEqual({
      'storaged-mode': '104751',
      'storaged-uid': '1000',
      'storaged-gid': '4294967295',
      'storaged-mtime-ns': '1712345678901234567',
    });
    expect(decodePosixMetadata(meta)).toEqual({ mode: constants.S_IFREG | 0o4751, uid: 1000, gid: 4294967295, mtimeNs: 1_712_345_678_901_234_567n });
  });

  it('marks symlinks and round-trips negative times', () => {
    const meta = encodePosixMetadata(node({ type: 'symlink', mode: constants.S_IFLNK | 0o777, target: 't', mtimeNs: -5_000_000_001n }));
    expect(meta[POSIX_METADATA_KEYS.type]).toBe('symlink');
    expect(decodePosixMetadata(meta)).toMatchObject({ symlink: true, mode: constants.S_IFLNK | 0o777, mtimeNs: -5_000_000_001n });
    expect(encodePosixMetadata(node({ type: 'directory', mode: constants.S_IFDIR | 0o700 }))[POSIX_METADATA_KEYS.type]).toBeUndefined();
  });

  it('ignores garbage values and unknown keys, never throws', () => {
    const garbage: Array<Record<string, string>> = [
      { 'storaged-mode': '999', 'storaged-uid': '-1', 'storaged-gid': '4294967296', 'storaged-mtime-ns': '1.5e9', 'storaged-type': 'fifo' },
      { 'storaged-mode': '0x1ff', 'storaged-uid': 'root', 'storaged-gid': '', 'storaged-mtime-ns': '99999999999999999999' },
      { 'storaged-mode': '7777777', 'storaged-uid': '12345678901', 'storaged-gid': '1e3', 'storaged-mtime-ns': '9223372036854775808' },
      { 'storaged-mode': '', 'storaged-mtime-ns': '-9223372036854775809', other: 'x' },
    ];
    for (const meta of garbage) expect(decodePosixMetadata(meta)).toEqual({});
    expect(decodePosixMetadata(undefined)).toEqual({});
    expect(decodePosixMetadata(null as unknown as undefined)).toEqual({});
    expect(decodePosixMetadata({ 'storaged-uid': 5 as unknown as string })).toEqual({});
  });

  it('keeps the valid values next to invalid ones, tolerating case and whitespace', () => {
    expect(decodePosixMetadata({ 'Storaged-Mode': ' 644 ', 'storaged-uid': 'x', 'STORAGED-GID': '0', 'storaged-type': 'SymLink' })).toEqual({
      mode: 0o644,
      gid: 0,
      symlink: true,
    });
    expect(decodePosixMetadata({ 'storaged-mtime-ns': '9223372036854775807' }).mtimeNs).toBe(2n ** 63n - 1n);
  });
});

describe('remoteChildFromStat', () => {
  const base: FileStat = { path: 'docs/report.pdf', type: 'file', size: 1234, lastModified: new Date(1_700_000_000_123), etag: '"abc"' };

  it('takes the last path segment, size, time and etag', () => {
    expect(remoteChildFromStat(base)).toEqual({ name: 'report.pdf', type: 'file', size: 1234, mtimeMs: 1_700_000_000_123, etag: '"abc"' });
    expect(remoteChildFromStat({ path: 'top', type: 'directory', size: 99, lastModified: new Date(0) })).toEqual({
      name: 'top',
      type: 'directory',
      size: 0,
      mtimeMs: 0,
    });
    expect(remoteChildFromStat({ ...base, lastModified: new Date(NaN), etag: undefined }).mtimeMs).toBe(0);
  });

  it('carries the POSIX attributes of the metadata', () => {
    const child = remoteChildFromStat({ ...base, metadata: encodePosixMetadata(node()) });
    expect(child).toMatchObject({ mode: constants.S_IFREG | 0o4751, uid: 1000, gid: 4294967295, mtimeNs: 1_712_345_678_901_234_567n });
    expect(child.symlinkTarget).toBeUndefined();
  });

  it('makes a symlink only with its target, which the caller reads from the content', () => {
    const stat: FileStat = { ...base, path: 'ln', size: 6, metadata: { 'storaged-type': 'symlink' } };
    expect(isSymlinkStat(stat)).toBe(true);
    expect(isSymlinkStat(base)).toBe(false);
    expect(remoteChildFromStat(stat).symlinkTarget).toBeUndefined();
    expect(remoteChildFromStat(stat, 'target').symlinkTarget).toBe('target');
  });
});
