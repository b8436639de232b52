import { describe, expect, it } from 'vitest';
import type { StorageDriver } from '../../src/drivers/types.js';
import { describeEntries, listAll, readText, useDriver, writeText, type AreaContext } from './support.js';

/** Awkward names that must round-trip unchanged (each file's content is its own key). */
export const AWKWARD_NAMES: ReadonlyArray<{ label: string; name: string }> = [
  { label: 'spaces', name: 'with  two spaces .txt' },
  { label: 'brackets', name: 'brackets [1] {2}.txt' },
  { label: 'unicode NFC', name: 'caf\u00e9 NFC.txt' },
  { label: 'unicode NFD', name: 'cafe\u0301 NFD.txt' },
  { label: 'CJK and emoji', name: '日本語 \u{1F600}.txt' },
  { label: 'hash', name: 'hash#tag.txt' },
  { label: 'percent', name: '100% sure.txt' },
  { label: 'percent-escape lookalike', name: 'literal %41%2F%20.txt' },
  { label: 'plus', name: 'a+b=c.txt' },
  { label: 'leading dot', name: '.hidden' },
];

/** Names: awkward characters, NFC vs NFD, a directory named '0', the longest allowed name. */
export function describeNames({ fixture }: AreaContext): void {
  describe('names', () => {
    const driver = useDriver(fixture);

    for (const { label, name } of AWKWARD_NAMES) {
      it(`round-trips a name with ${label}: ${JSON.stringify(name)}`, async () => {
        const key = `names/${name}`;
        await writeText(driver(), key, key);
        expect(await readText(driver(), key)).toBe(key);
        const stat = await driver().stat(key);
        expect(stat.path).toBe(key);
        expect(stat.type).toBe('file');
      });
    }

    it('lists every awkward name exactly as written, NFC and NFD as two entries', async () => {
      for (const { name } of AWKWARD_NAMES) await writeText(driver(), `names-list/${name}`, name);
      const { entries } = await listAll(driver(), 'names-list', { recursive: false });
      expect(describeEntries(entries)).toEqual(AWKWARD_NAMES.map(({ name }) => `file:names-list/${name}`).sort());
      expect(await readText(driver(), 'names-list/caf\u00e9 NFC.txt')).toBe('caf\u00e9 NFC.txt');
      expect(await readText(driver(), 'names-list/cafe\u0301 NFD.txt')).toBe('cafe\u0301 NFD.txt');
    });

    it('keeps NFC and NFD forms of the same name as distinct keys', async () => {
      const nfc = 'nfc-nfd/\u00e9.txt';
      const nfd = 'nfc-nfd/e\u0301.txt';
      await writeText(driver(), nfc, 'composed');
      await writeText(driver(), nfd, 'decomposed');
      expect(await readText(driver(), nfc)).toBe('composed');
      expect(await readText(driver(), nfd)).toBe('decomposed');
      const { entries } = await listAll(driver(), 'nfc-nfd', { recursive: false });
      expect(describeEntries(entries)).toEqual([`file:${nfc}`, `file:${nfd}`].sort());
    });

    it("treats a directory named '0' as a real name", async () => {
      await writeText(driver(), 'zero/0/inside.txt', 'inside');
      await writeText(driver(), 'zero/file/0', 'a file named 0');
      expect((await driver().stat('zero/0')).type).toBe('directory');
      expect(await readText(driver(), 'zero/file/0')).toBe('a file named 0');
      const top = await listAll(driver(), 'zero', { recursive: false });
      expect(describeEntries(top.entries)).toEqual(['directory:zero/0', 'directory:zero/file']);
      const inside = await listAll(driver(), 'zero/0', { recursive: false });
      expect(describeEntries(inside.entries)).toEqual(['file:zero/0/inside.txt']);
    });

    it('round-trips a name of the longest allowed length (255 bytes or the driver limit)', async () => {
      const key = `long/${longName(driver(), 'x')}`;
      await writeText(driver(), key, 'long');
      expect(await readText(driver(), key)).toBe('long');
      const { entries } = await listAll(driver(), 'long', { recursive: false });
      expect(entries.map((e) => e.path)).toEqual([key]);
    });

    it('counts the name limit in UTF-8 bytes, not characters', async () => {
      const name = longName(driver(), '\u00e9');
      expect(Buffer.byteLength(name)).toBe(nameBytes(driver()));
      const key = `long-utf8/${name}`;
      await writeText(driver(), key, 'multibyte');
      expect(await readText(driver(), key)).toBe('multibyte');
      expect((await driver().stat(key)).path).toBe(key);
    });
  });
}

/** Bytes of the longest name the suite uses: 255, or less when the driver says so. */
export function nameBytes(driver: StorageDriver): number {
  const { maxNameBytes, maxKeyBytes } = driver.capabilities.limits;
  return Math.min(255, maxNameBytes, maxKeyBytes - 'long-utf8/'.length);
}

/** A name of exactly nameBytes(driver) UTF-8 bytes built from `unit` plus ASCII padding, ending in '.txt'. */
function longName(driver: StorageDriver, unit: string): string {
  const target = nameBytes(driver) - '.txt'.length;
  const unitBytes = Buffer.byteLength(unit);
  const body = unit.repeat(Math.floor(target / unitBytes));
  return body + 'y'.repeat(target - Buffer.byteLength(body)) + '.txt';
}
