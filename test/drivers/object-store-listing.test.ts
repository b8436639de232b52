import { describe, expect, it } from 'vitest';
import type { ObjectInfo } from '../../src/drivers/object-store/adapter.js';
import { decodeRecursiveCursor, encodeRecursiveCursor, isAddressable, recursivePage } from '../../src/drivers/object-store/listing.js';

const object = (key: string): ObjectInfo => ({ key, size: key.endsWith('/') ? 0 : 1, lastModified: new Date(1000) });
const identity = (key: string) => key;

/** Runs recursivePage over `keys` split into pages of `pageSize`, as a paging caller would. */
function listInPages(keys: string[], dir: string, pageSize: number): string[] {
  const sorted = [...keys].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  const seen: string[] = [];
  let last: string | undefined;
  for (let i = 0; i < sorted.length; i += pageSize) {
    const page = recursivePage({ objects: sorted.slice(i, i + pageSize).map(object), commonPrefixes: [] }, dir, last, identity);
    last = page.last;
    seen.push(...page.entries.map((e) => `${e.type === 'directory' ? 'd' : 'f'}:${e.path}`));
  }
  return seen;
}

describe('object-store recursive listing', () => {
  const keys = ['a/x', 'a-b/y', 'a/b/', 'a/b/c', 'a/z', 'top', 'e/', 'q/r/s/t'];

  it('emits every file once and every folder once, whatever the page size', () => {
    const expected = ['d:a', 'd:a-b', 'd:a/b', 'd:e', 'd:q', 'd:q/r', 'd:q/r/s', 'f:a-b/y', 'f:a/b/c', 'f:a/x', 'f:a/z', 'f:q/r/s/t', 'f:top'];
    for (const pageSize of [1, 2, 3, 100]) {
      expect(listInPages(keys, '', pageSize).sort()).toEqual(expected);
    }
  });

  it('leaves out the listed folder itself and its marker', () => {
    const below = keys.filter((k) => k.startsWith('a/'));
    expect(listInPages(below, 'a', 1).sort()).toEqual(['d:a/b', 'f:a/b/c', 'f:a/x', 'f:a/z']);
  });

  it('skips keys that no path can name', () => {
    expect(isAddressable('a//b')).toBe(false);
    expect(isAddressable('a/./b')).toBe(false);
    expect(isAddressable('/')).toBe(false);
    expect(isAddressable('a/b/')).toBe(true);
    expect(listInPages(['a//b', 'ok'], '', 10)).toEqual(['f:ok']);
  });

  it('round-trips its cursor and rejects a foreign one with EINVAL', () => {
    expect(decodeRecursiveCursor(encodeRecursiveCursor({ c: 'token', l: 'a/b' }))).toEqual({ c: 'token', l: 'a/b' });
    expect(() => decodeRecursiveCursor('garbage')).toThrow(expect.objectContaining({ code: 'EINVAL' }));
  });
});
