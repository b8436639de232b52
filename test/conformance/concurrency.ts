import { describe, expect, it } from 'vitest';
import { listAll, readBytes, seededBytes, useDriver, type AreaContext } from './support.js';

const COUNT = 50;

/** Concurrency: parallel writes of different keys, parallel reads of one key, racing overwrites. */
export function describeConcurrency({ fixture }: AreaContext): void {
  describe('concurrency', () => {
    const driver = useDriver(fixture);

    it(`${COUNT} concurrent writes of different keys all land`, async () => {
      const keys = Array.from({ length: COUNT }, (_, i) => `parallel/file-${i}.bin`);
      const results = await Promise.all(keys.map((key, i) => driver().write(key, seededBytes(1000 + i, i))));
      results.forEach((result, i) => expect(result.size).toBe(1000 + i));
      const contents = await Promise.all(keys.map((key) => readBytes(driver(), key)));
      contents.forEach((content, i) => expect(content.equals(seededBytes(1000 + i, i)), keys[i]).toBe(true));
      const { entries } = await listAll(driver(), 'parallel', { recursive: false });
      expect(entries.map((e) => e.path).sort()).toEqual([...keys].sort());
    }, 120_000);

    it(`${COUNT} concurrent reads of one key all return the same bytes`, async () => {
      const content = seededBytes(300_000, 99);
      await driver().write('parallel/shared.bin', content);
      const reads = await Promise.all(Array.from({ length: COUNT }, () => readBytes(driver(), 'parallel/shared.bin')));
      reads.forEach((got, i) => expect(got.equals(content), `read #${i}`).toBe(true));
    }, 120_000);

    it('concurrent overwrites of one key leave exactly one complete version', async (ctx) => {
      ctx.skip(fixture.racingOverwritesSkipReason !== undefined, fixture.racingOverwritesSkipReason);
      const versions = Array.from({ length: 10 }, (_, i) => seededBytes(100_000, 1000 + i));
      await Promise.all(versions.map((version) => driver().write('parallel/raced.bin', version)));
      const final = await readBytes(driver(), 'parallel/raced.bin');
      expect(versions.some((version) => version.equals(final)), 'the final content is not one of the written versions').toBe(true);
    }, 120_000);
  });
}
