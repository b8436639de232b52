import { describe, expect, it } from 'vitest';
import { readBytes, seededBytes, useDriver, type AreaContext } from './support.js';

const SIZE = 10_000;

/** Ranged reads: first and last byte, a middle range, open-ended and past-the-end ranges (clamped). */
export function describeRanges({ fixture }: AreaContext): void {
  describe('ranged reads', () => {
    const driver = useDriver(fixture);
    const content = seededBytes(SIZE, 42);
    const cases: ReadonlyArray<{ label: string; offset: number; length?: number; expected: Buffer }> = [
      { label: 'the first byte', offset: 0, length: 1, expected: content.subarray(0, 1) },
      { label: 'the last byte', offset: SIZE - 1, length: 1, expected: content.subarray(SIZE - 1) },
      { label: 'a middle range', offset: 1234, length: 4321, expected: content.subarray(1234, 1234 + 4321) },
      { label: 'from an offset to the end (no length)', offset: 9000, expected: content.subarray(9000) },
      { label: 'the whole file as a range', offset: 0, length: SIZE, expected: content },
      { label: 'a range overrunning the end, clamped', offset: SIZE - 10, length: 100, expected: content.subarray(SIZE - 10) },
      { label: 'a range starting exactly at the end: zero bytes', offset: SIZE, length: 10, expected: Buffer.alloc(0) },
      { label: 'a range starting past the end: zero bytes', offset: SIZE + 5000, length: 10, expected: Buffer.alloc(0) },
      { label: 'an open range starting past the end: zero bytes', offset: SIZE + 1, expected: Buffer.alloc(0) },
    ];

    it('writes the file the ranges read', async () => {
      await driver().write('ranges/data.bin', content);
      expect((await readBytes(driver(), 'ranges/data.bin')).equals(content)).toBe(true);
    });

    for (const { label, offset, length, expected } of cases) {
      it(`reads ${label} (offset ${offset}, length ${length ?? 'none'})`, async () => {
        const range = length === undefined ? { offset } : { offset, length };
        const got = await readBytes(driver(), 'ranges/data.bin', { range });
        expect(got.length).toBe(expected.length);
        expect(got.equals(expected)).toBe(true);
      });
    }

    it('reads a range of an empty file as zero bytes', async () => {
      await driver().write('ranges/empty.bin', Buffer.alloc(0));
      expect((await readBytes(driver(), 'ranges/empty.bin', { range: { offset: 0, length: 10 } })).length).toBe(0);
    });
  });
}
