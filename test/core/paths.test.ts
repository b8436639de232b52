import { describe, expect, it } from 'vitest';
import { FsError, type FsErrorCode } from '../../src/core/errors.js';
import { baseName, isWithin, joinKey, normalizeDirectory, normalizeKey, parentKey, DEFAULT_KEY_LIMITS } from '../../src/core/paths.js';

function codeOf(action: () => unknown): FsErrorCode | 'no error' {
  try {
    action();
    return 'no error';
  } catch (err) {
    if (!(err instanceof FsError)) throw err;
    return err.code;
  }
}

describe('normalizeKey', () => {
  it.each([
    ['a.txt', 'a.txt'],
    ['a/b/c.txt', 'a/b/c.txt'],
    ['a/b/', 'a/b'],
    ['./a.txt', 'a.txt'],
    ['a//b///c', 'a/b/c'],
    ['a/./b', 'a/b'],
    ['a/b/../c', 'a/c'],
    ['a/b/c/../../d', 'a/d'],
    ['a/../b', 'b'],
  ])('%j normalizes to %j', (input, expected) => {
    expect(normalizeKey(input)).toBe(expected);
  });

  it.each(['with space.txt', 'brackets [1] {2}.txt', 'hash#tag', '100%', '%41%2F', 'a+b', '.hidden', '0', '日本語', ' leading and trailing '])(
    'keeps %j exactly as given',
    (name) => {
      expect(normalizeKey(`dir/${name}`)).toBe(`dir/${name}`);
    },
  );

  it('keeps NFC and NFD forms distinct', () => {
    const nfc = normalizeKey('caf\u00e9');
    const nfd = normalizeKey('cafe\u0301');
    expect(nfc).toBe('caf\u00e9');
    expect(nfd).toBe('cafe\u0301');
    expect(nfc).not.toBe(nfd);
  });

  it.each([
    ['', 'empty'],
    ['.', 'the root'],
    ['./', 'the root'],
    ['a/..', 'the root via ..'],
    ['..', 'parent of the root'],
    ['../a', 'climbing out'],
    ['a/../../b', 'climbing out after a folder'],
    ['a/b/../../..', 'climbing out at the end'],
    ['/a', 'absolute'],
    ['/', 'absolute root'],
    ['//a', 'double-slash absolute'],
    ['a\0b', 'NUL byte'],
    ['dir\0/b', 'NUL byte in a folder'],
  ])('rejects %j (%s) with EINVAL', (input) => {
    expect(codeOf(() => normalizeKey(input))).toBe('EINVAL');
  });

  it('rejects a non-string with EINVAL', () => {
    expect(codeOf(() => normalizeKey(42 as unknown as string))).toBe('EINVAL');
    expect(codeOf(() => normalizeKey(undefined as unknown as string))).toBe('EINVAL');
  });

  it('the error carries the offending path', () => {
    try {
      normalizeKey('../x');
      expect.unreachable();
    } catch (err) {
      expect((err as FsError).path).toBe('../x');
    }
  });

  it('accepts a 255-byte name and rejects a 256-byte one with ENAMETOOLONG', () => {
    expect(normalizeKey('a'.repeat(255))).toHaveLength(255);
    expect(codeOf(() => normalizeKey('a'.repeat(256)))).toBe('ENAMETOOLONG');
    expect(codeOf(() => normalizeKey(`dir/${'a'.repeat(256)}/x`))).toBe('ENAMETOOLONG');
  });

  it('counts names in UTF-8 bytes, not characters', () => {
    expect(codeOf(() => normalizeKey('\u00e9'.repeat(127) + 'x'))).toBe('no error'); // 255 bytes
    expect(codeOf(() => normalizeKey('\u00e9'.repeat(128)))).toBe('ENAMETOOLONG'); // 256 bytes, 128 characters
  });

  it('rejects a whole key over maxKeyBytes with ENAMETOOLONG', () => {
    const segment = 'k'.repeat(100);
    const fits = Array.from({ length: 10 }, () => segment).join('/'); // 1009 bytes
    expect(normalizeKey(fits)).toBe(fits);
    expect(codeOf(() => normalizeKey(`${fits}/${'k'.repeat(20)}`))).toBe('ENAMETOOLONG'); // 1030 bytes
    expect(DEFAULT_KEY_LIMITS.maxKeyBytes).toBe(1024);
  });

  it('applies custom limits', () => {
    const limits = { maxNameBytes: 10, maxKeyBytes: 20 };
    expect(normalizeKey('0123456789', limits)).toBe('0123456789');
    expect(codeOf(() => normalizeKey('0123456789a', limits))).toBe('ENAMETOOLONG');
    expect(codeOf(() => normalizeKey('0123456789/0123456789', limits))).toBe('ENAMETOOLONG');
  });

  it('checks the key length after resolving "..", not before', () => {
    const limits = { maxNameBytes: 255, maxKeyBytes: 20 };
    expect(normalizeKey(`${'x'.repeat(30)}/../short`, limits)).toBe('short');
  });
});

describe('normalizeDirectory', () => {
  it.each([
    ['', ''],
    ['.', ''],
    ['./', ''],
    ['a/..', ''],
    ['a/', 'a'],
    ['a/b//', 'a/b'],
  ])('%j normalizes to %j', (input, expected) => {
    expect(normalizeDirectory(input)).toBe(expected);
  });

  it.each(['/', '/a', '..', '../a', 'a\0'])('rejects %j with EINVAL', (input) => {
    expect(codeOf(() => normalizeDirectory(input))).toBe('EINVAL');
  });

  it('rejects an over-long name with ENAMETOOLONG', () => {
    expect(codeOf(() => normalizeDirectory('b'.repeat(256)))).toBe('ENAMETOOLONG');
  });
});

describe('key helpers', () => {
  it('joinKey skips the root', () => {
    expect(joinKey('', 'a', '', 'b/c')).toBe('a/b/c');
    expect(joinKey('', '')).toBe('');
  });

  it('parentKey and baseName split a key', () => {
    expect(parentKey('a/b/c.txt')).toBe('a/b');
    expect(parentKey('top.txt')).toBe('');
    expect(baseName('a/b/c.txt')).toBe('c.txt');
    expect(baseName('top.txt')).toBe('top.txt');
  });

  it('isWithin respects segment boundaries', () => {
    expect(isWithin('a/b', 'a')).toBe(true);
    expect(isWithin('a', 'a')).toBe(true);
    expect(isWithin('ab/c', 'a')).toBe(false);
    expect(isWithin('a-b', 'a')).toBe(false);
    expect(isWithin('anything', '')).toBe(true);
  });
});
