import { describe, expect, it } from 'vitest';
import { FsError } from '../../../src/core/errors.js';
import { parseQuery } from '../../../src/daemon/hooks/search/query-parser.js';
import { queryToSql } from '../../../src/daemon/hooks/search/query-sql.js';

const MiB = 2 ** 20;
const day = 86_400_000;
const utc = (text: string) => Date.parse(text);

/** The FsError parseQuery throws for `query`. */
function parseError(query: string): FsError {
  try {
    parseQuery(query);
  } catch (err) {
    expect(err).toBeInstanceOf(FsError);
    return err as FsError;
  }
  throw new Error(`'${query}' parsed without an error`);
}

describe('parseQuery: valid queries', () => {
  it('the issue example: a type and a date comparison, ANDed', () => {
    expect(parseQuery('type:image/jpeg taken>2024-01-01')).toEqual({
      kind: 'and',
      terms: [
        { kind: 'equals', field: 'type', value: 'image/jpeg' },
        { kind: 'range', field: 'taken', min: utc('2024-01-02T00:00:00Z') },
      ],
    });
  });

  it('the empty query matches everything; one term is not wrapped', () => {
    expect(parseQuery('')).toEqual({ kind: 'all' });
    expect(parseQuery('   ')).toEqual({ kind: 'all' });
    expect(parseQuery('holiday')).toEqual({ kind: 'contains', field: 'name', value: 'holiday' });
  });

  it('wildcards on type, name, path, camera; a bare type means the whole family', () => {
    expect(parseQuery('type:image/*')).toEqual({ kind: 'like', field: 'type', pattern: 'image/*' });
    expect(parseQuery('type:image')).toEqual({ kind: 'like', field: 'type', pattern: 'image/*' });
    expect(parseQuery('name:*.jpg')).toEqual({ kind: 'like', field: 'name', pattern: '*.jpg' });
    expect(parseQuery('path:/inbox/2024/*')).toEqual({ kind: 'like', field: 'path', pattern: 'inbox/2024/*' });
    expect(parseQuery('camera:Canon*')).toEqual({ kind: 'like', field: 'camera', pattern: 'Canon*' });
    expect(parseQuery('*.png')).toEqual({ kind: 'like', field: 'name', pattern: '*.png' });
  });

  it('sizes with units, comparisons and ranges', () => {
    expect(parseQuery('size:1MiB..5MiB')).toEqual({ kind: 'range', field: 'size', min: MiB, max: 5 * MiB + 1 });
    expect(parseQuery('size>1MB')).toEqual({ kind: 'range', field: 'size', min: 1_000_001 });
    expect(parseQuery('size>=2KiB')).toEqual({ kind: 'range', field: 'size', min: 2048 });
    expect(parseQuery('size<10')).toEqual({ kind: 'range', field: 'size', max: 10 });
    expect(parseQuery('size<=1.5GiB')).toEqual({ kind: 'range', field: 'size', max: 1.5 * 2 ** 30 + 1 });
    expect(parseQuery('size:>1KB')).toEqual({ kind: 'range', field: 'size', min: 1001 });
    expect(parseQuery('size:..1KB')).toEqual({ kind: 'range', field: 'size', max: 1001 });
    expect(parseQuery('size:4096')).toEqual({ kind: 'range', field: 'size', min: 4096, max: 4097 });
    expect(parseQuery('width>=1920 height<1080')).toEqual({
      kind: 'and',
      terms: [
        { kind: 'range', field: 'width', min: 1920 },
        { kind: 'range', field: 'height', max: 1080 },
      ],
    });
  });

  it('dates cover what they name: a year, a month, a day, a minute; zones are honoured', () => {
    expect(parseQuery('taken:2024-01-01..2024-12-31')).toEqual({ kind: 'range', field: 'taken', min: utc('2024-01-01T00:00:00Z'), max: utc('2025-01-01T00:00:00Z') });
    expect(parseQuery('taken:2024')).toEqual({ kind: 'range', field: 'taken', min: utc('2024-01-01T00:00:00Z'), max: utc('2025-01-01T00:00:00Z') });
    expect(parseQuery('taken:2024-02')).toEqual({ kind: 'range', field: 'taken', min: utc('2024-02-01T00:00:00Z'), max: utc('2024-03-01T00:00:00Z') });
    expect(parseQuery('taken:2024-06-01')).toEqual({ kind: 'range', field: 'taken', min: utc('2024-06-01T00:00:00Z'), max: utc('2024-06-01T00:00:00Z') + day });
    expect(parseQuery('taken>=2024-06-01T10:30')).toEqual({ kind: 'range', field: 'taken', min: utc('2024-06-01T10:30:00Z') });
    expect(parseQuery('taken<=2024-06-01T10:30:15')).toEqual({ kind: 'range', field: 'taken', max: utc('2024-06-01T10:30:16Z') });
    expect(parseQuery('taken<2024-06-01T10:30:00+02:00')).toEqual({ kind: 'range', field: 'taken', max: utc('2024-06-01T08:30:00Z') });
    expect(parseQuery('taken:"2024-06-01 10:30"')).toEqual({ kind: 'range', field: 'taken', min: utc('2024-06-01T10:30:00Z'), max: utc('2024-06-01T10:31:00Z') });
  });

  it('quoted values, gps, sha256, ext, watch, disk; field names are case-insensitive', () => {
    expect(parseQuery('camera:"Canon EOS R5"')).toEqual({ kind: 'equals', field: 'camera', value: 'Canon EOS R5' });
    expect(parseQuery('"summer holiday"')).toEqual({ kind: 'contains', field: 'name', value: 'summer holiday' });
    expect(parseQuery('camera:"say \\"cheese\\""')).toEqual({ kind: 'equals', field: 'camera', value: 'say "cheese"' });
    expect(parseQuery('gps:yes')).toEqual({ kind: 'gps', present: true });
    expect(parseQuery('gps:no')).toEqual({ kind: 'gps', present: false });
    expect(parseQuery(`sha256:${'AB'.repeat(32)}`)).toEqual({ kind: 'equals', field: 'sha256', value: 'ab'.repeat(32) });
    expect(parseQuery('ext:.JPG')).toEqual({ kind: 'equals', field: 'ext', value: 'jpg' });
    expect(parseQuery('Watch:inbox disk:media')).toEqual({
      kind: 'and',
      terms: [
        { kind: 'equals', field: 'watch', value: 'inbox' },
        { kind: 'equals', field: 'disk', value: 'media' },
      ],
    });
    expect(parseQuery('mime:application/pdf')).toEqual({ kind: 'equals', field: 'type', value: 'application/pdf' });
  });

  it('negation and OR (OR binds tighter than the spaces)', () => {
    expect(parseQuery('-type:image/png')).toEqual({ kind: 'not', term: { kind: 'equals', field: 'type', value: 'image/png' } });
    expect(parseQuery('ext:jpg OR ext:png size>1MiB')).toEqual({
      kind: 'and',
      terms: [
        {
          kind: 'or',
          terms: [
            { kind: 'equals', field: 'ext', value: 'jpg' },
            { kind: 'equals', field: 'ext', value: 'png' },
          ],
        },
        { kind: 'range', field: 'size', min: MiB + 1 },
      ],
    });
    expect(parseQuery('a OR b OR -c')).toEqual({
      kind: 'or',
      terms: [
        { kind: 'contains', field: 'name', value: 'a' },
        { kind: 'contains', field: 'name', value: 'b' },
        { kind: 'not', term: { kind: 'contains', field: 'name', value: 'c' } },
      ],
    });
    // A quoted OR is a word, and so is a lower-case one.
    expect(parseQuery('"OR"')).toEqual({ kind: 'contains', field: 'name', value: 'OR' });
    expect(parseQuery('a or b')).toMatchObject({ kind: 'and' });
  });
});

describe('parseQuery: errors name the term and its column', () => {
  const cases: Array<[string, RegExp]> = [
    ['colour:red', /unknown field 'colour' at 1/],
    ['type:image/jpeg colour:red', /unknown field 'colour' at 17/],
    ['camera:"Canon EOS', /unterminated quote at 8/],
    ['size>big', /'size>big' at 1.*not a size/],
    ['size:1XB', /'size:1XB' at 1.*unknown unit/],
    ['width:wide', /'width:wide' at 1.*not a whole number/],
    ['taken>2024-13-01', /'taken>2024-13-01' at 1.*not a valid date/],
    ['taken:yesterday', /'taken:yesterday' at 1.*not a date/],
    ['taken:2024-02-30', /not a valid date/],
    ['size:5MiB..1MiB', /'size:5MiB..1MiB' at 1.*range .* is empty/],
    ['size:..', /at least one end/],
    ['gps:maybe', /'gps:maybe' at 1.*not yes or no/],
    ['gps>1', /'gps' takes no comparison/],
    ['name>foo', /'name' takes no comparison/],
    ['ext:*', /'ext' takes no '\*' wildcards/],
    ['sha256:abc', /not a sha256/],
    ['type:', /'type:' at 1 has no value/],
    ['a -', /'-' at 3 must be followed by a term/],
    ['OR a', /'OR' at 1 needs a term before it/],
    ['a OR', /'OR' at 3 needs a term after it/],
    ['a OR OR b', /'OR' at 6 needs a term before it/],
    ['""', /empty term at 1/],
  ];
  it.each(cases)('%s', (query, message) => {
    const err = parseError(query);
    expect(err.code).toBe('EINVAL');
    expect(err.message).toMatch(message);
  });
});

describe('queryToSql', () => {
  it('binds every value as a parameter, never in the SQL text', () => {
    const hostile = `x'; DROP TABLE file_metadata; --`;
    const condition = queryToSql(parseQuery(`camera:"${hostile}" "${hostile}" name:*%_*`));
    expect(condition.sql).not.toContain('DROP');
    expect(condition.params).toEqual([hostile, `%${hostile.replace('_', '\\_')}%`, '%\\%\\_%']);
    expect(condition.sql.match(/\?/g)).toHaveLength(3);
  });

  it('a path pattern is a case-sensitive GLOB with its metacharacters escaped', () => {
    const condition = queryToSql(parseQuery('path:a[1]?/*.jpg'));
    expect(condition.sql).toBe('(path GLOB ?)');
    expect(condition.params).toEqual(['a[[]1][?]/*.jpg']);
  });
});
