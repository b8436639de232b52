import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { IntervalSet } from '../../../src/daemon/cache/interval-set.js';

describe('IntervalSet', () => {
  it('starts empty', () => {
    const set = new IntervalSet();
    expect(set.total).toBe(0);
    expect(set.count).toBe(0);
    expect(set.gaps(0, 10)).toEqual([{ offset: 0, length: 10 }]);
    expect(set.covers(0, 0)).toBe(true);
    expect(set.covers(0, 1)).toBe(false);
  });

  it('merges overlapping and touching intervals, keeps separate ones apart', () => {
    const set = new IntervalSet();
    set.add(10, 20);
    set.add(30, 40);
    expect(set.toJSON()).toEqual([[10, 20], [30, 40]]);
    set.add(20, 25); // touches the first
    expect(set.toJSON()).toEqual([[10, 25], [30, 40]]);
    set.add(5, 12); // overlaps the first from the left
    expect(set.toJSON()).toEqual([[5, 25], [30, 40]]);
    set.add(24, 31); // bridges both
    expect(set.toJSON()).toEqual([[5, 40]]);
    set.add(50, 60);
    set.add(0, 100); // swallows everything
    expect(set.toJSON()).toEqual([[0, 100]]);
    expect(set.total).toBe(100);
  });

  it('adding inside an existing interval changes nothing', () => {
    const set = IntervalSet.from([[0, 10]]);
    set.add(2, 5);
    expect(set.toJSON()).toEqual([[0, 10]]);
    expect(set.total).toBe(10);
  });

  it('ignores empty ranges and rejects negative bounds', () => {
    const set = new IntervalSet();
    set.add(5, 5);
    set.add(7, 3);
    expect(set.count).toBe(0);
    expect(() => set.add(-1, 3)).toThrow(expect.objectContaining({ code: 'EINVAL' }));
    expect(() => set.remove(0, 1.5)).toThrow(expect.objectContaining({ code: 'EINVAL' }));
  });

  it('remove splits an interval in the middle', () => {
    const set = IntervalSet.from([[0, 100]]);
    set.remove(40, 60);
    expect(set.toJSON()).toEqual([[0, 40], [60, 100]]);
    expect(set.total).toBe(80);
  });

  it('remove trims edges and drops whole intervals', () => {
    const set = IntervalSet.from([[0, 10], [20, 30], [40, 50], [60, 70]]);
    set.remove(5, 45);
    expect(set.toJSON()).toEqual([[0, 5], [45, 50], [60, 70]]);
    expect(set.total).toBe(20);
    set.remove(50, 60); // exactly the gap: nothing changes
    expect(set.toJSON()).toEqual([[0, 5], [45, 50], [60, 70]]);
    set.remove(0, 5); // an exact interval
    expect(set.toJSON()).toEqual([[45, 50], [60, 70]]);
  });

  it('truncate drops everything at or beyond the size', () => {
    const set = IntervalSet.from([[0, 10], [20, 30], [40, 50]]);
    set.truncate(25);
    expect(set.toJSON()).toEqual([[0, 10], [20, 25]]);
    set.truncate(20);
    expect(set.toJSON()).toEqual([[0, 10]]);
    set.truncate(100);
    expect(set.toJSON()).toEqual([[0, 10]]);
    set.truncate(0);
    expect(set.total).toBe(0);
  });

  it('gaps lists the uncovered pieces of a window, in order', () => {
    const set = IntervalSet.from([[10, 20], [30, 40]]);
    expect(set.gaps(0, 50)).toEqual([
      { offset: 0, length: 10 },
      { offset: 20, length: 10 },
      { offset: 40, length: 10 },
    ]);
    expect(set.gaps(12, 35)).toEqual([{ offset: 20, length: 10 }]);
    expect(set.gaps(10, 20)).toEqual([]);
    expect(set.gaps(15, 15)).toEqual([]);
    expect(set.gaps(20, 30)).toEqual([{ offset: 20, length: 10 }]);
  });

  it('covers and intersects answer for windows across boundaries', () => {
    const set = IntervalSet.from([[10, 20], [30, 40]]);
    expect(set.covers(10, 20)).toBe(true);
    expect(set.covers(12, 18)).toBe(true);
    expect(set.covers(15, 35)).toBe(false);
    expect(set.covers(20, 21)).toBe(false);
    expect(set.intersects(20, 30)).toBe(false);
    expect(set.intersects(19, 30)).toBe(true);
    expect(set.intersects(0, 10)).toBe(false);
    expect(set.intersects(39, 100)).toBe(true);
  });

  it('round-trips through JSON', () => {
    const set = IntervalSet.from([[30, 40], [0, 5], [3, 8]]);
    const copy = IntervalSet.from(JSON.parse(JSON.stringify(set)) as Array<[number, number]>);
    expect(copy.toJSON()).toEqual([[0, 8], [30, 40]]);
    expect(copy.total).toBe(18);
  });

  it('matches a byte-array model under random add/remove/truncate', () => {
    const size = 64;
    const range = fc.tuple(fc.integer({ min: 0, max: size }), fc.integer({ min: 0, max: size }));
    const op = fc.oneof(
      range.map(([a, b]) => ({ kind: 'add' as const, a, b })),
      range.map(([a, b]) => ({ kind: 'remove' as const, a, b })),
      fc.integer({ min: 0, max: size }).map((a) => ({ kind: 'truncate' as const, a, b: 0 })),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 40 }), range, (ops, [qa, qb]) => {
        const set = new IntervalSet();
        const model = new Array<boolean>(size).fill(false);
        for (const { kind, a, b } of ops) {
          if (kind === 'add') set.add(a, b);
          else if (kind === 'remove') set.remove(a, b);
          else set.truncate(a);
          for (let i = 0; i < size; i++) {
            if (kind === 'add' && i >= a && i < b) model[i] = true;
            if (kind === 'remove' && i >= a && i < b) model[i] = false;
            if (kind === 'truncate' && i >= a) model[i] = false;
          }
        }
        expect(set.toJSON()).toEqual(modelIntervals(model));
        expect(set.total).toBe(model.filter(Boolean).length);
        const window = model.slice(qa, Math.max(qa, qb));
        expect(set.covers(qa, qb)).toBe(window.every(Boolean));
        expect(set.intersects(qa, qb)).toBe(window.some(Boolean));
        const gapBytes = set.gaps(qa, qb).flatMap(({ offset, length }) => Array.from({ length }, (_, k) => offset + k));
        const expectedGaps = window.flatMap((held, k) => (held ? [] : [qa + k]));
        expect(gapBytes).toEqual(expectedGaps);
      }),
      { numRuns: 300 },
    );
  });
});

/** The maximal runs of `true` in a boolean array, as [start, end) pairs. */
function modelIntervals(model: boolean[]): Array<[number, number]> {
  const result: Array<[number, number]> = [];
  let start = -1;
  for (let i = 0; i <= model.length; i++) {
    const held = i < model.length && model[i] === true;
    if (held && start < 0) start = i;
    if (!held && start >= 0) {
      result.push([start, i]);
      start = -1;
    }
  }
  return result;
}
