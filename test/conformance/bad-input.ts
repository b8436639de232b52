import { describe, expect, it } from 'vitest';
import type { FsErrorCode } from '../../src/core/errors.js';
import type { BooleanCapability } from './support.js';
import { describeEntries, expectCode, expectSyncCode, listAll, readText, useDriver, writeText, type AreaContext } from './support.js';
import type { StorageDriver } from '../../src/drivers/types.js';

/** One driver method called with a path under test. */
interface MethodCall {
  name: string;
  /** Directory methods accept '' (the root). */
  directory?: boolean;
  /** Without this capability, ENOTSUP is an acceptable answer too. */
  capability?: BooleanCapability;
  /** url() is synchronous. */
  sync?: boolean;
  /** Could change data if the path were wrongly accepted. */
  destructive?: boolean;
  call(driver: StorageDriver, path: string): Promise<unknown> | unknown;
}

const EXISTING = 'bad-input-ok.txt';

/**
 * Every method with a path argument, each position of copy/move separately.
 * Destructive ones come last and run only when every harmless one refused the
 * path, so a driver that does not normalize cannot delete or chmod anything
 * outside its root during this test.
 */
const METHODS: MethodCall[] = [
  { name: 'stat', call: (d, p) => d.stat(p) },
  { name: 'read', call: (d, p) => d.read(p) },
  { name: 'list', directory: true, call: (d, p) => d.list(p, { recursive: false }) },
  { name: 'list (recursive)', directory: true, call: (d, p) => d.list(p, { recursive: true }) },
  { name: 'checksum', call: (d, p) => d.checksum(p) },
  { name: 'getVisibility', capability: 'visibility', call: (d, p) => d.getVisibility(p) },
  { name: 'url', capability: 'publicUrl', sync: true, call: (d, p) => d.url(p) },
  { name: 'temporaryUrl', capability: 'temporaryUrl', call: (d, p) => d.temporaryUrl(p, { expiresIn: 60 }) },
  { name: 'temporaryUploadUrl', capability: 'temporaryUploadUrl', call: (d, p) => d.temporaryUploadUrl(p, { expiresIn: 60 }) },
  { name: 'copy (from)', call: (d, p) => d.copy(p, 'bad-input-target.txt') },
  { name: 'write', destructive: true, call: (d, p) => d.write(p, Buffer.from('must not land')) },
  { name: 'createDirectory', destructive: true, directory: true, call: (d, p) => d.createDirectory(p) },
  { name: 'copy (to)', destructive: true, call: (d, p) => d.copy(EXISTING, p) },
  { name: 'move (to)', destructive: true, call: (d, p) => d.move(EXISTING, p) },
  { name: 'move (from)', destructive: true, call: (d, p) => d.move(p, 'bad-input-target.txt') },
  { name: 'setVisibility', destructive: true, capability: 'visibility', call: (d, p) => d.setVisibility(p, 'public') },
  { name: 'delete', destructive: true, call: (d, p) => d.delete(p) },
  { name: 'deleteDirectory', destructive: true, directory: true, call: (d, p) => d.deleteDirectory(p) },
];

const INVALID_PATHS: ReadonlyArray<{ label: string; path: string; fileOnly?: boolean }> = [
  { label: "'..' alone", path: '..' },
  { label: "'..' climbing out", path: '../escape.txt' },
  { label: "'..' climbing out after a folder", path: 'a/../../escape.txt' },
  { label: "'..' climbing out from deep", path: 'a/b/../../../../storaged-no-such-file.txt' },
  { label: 'an absolute path', path: '/absolute.txt' },
  { label: 'the absolute root', path: '/' },
  { label: 'a NUL byte in a name', path: 'nul\0byte.txt' },
  { label: 'a NUL byte in a folder', path: 'dir\0/file.txt' },
  { label: 'an empty path', path: '', fileOnly: true },
];

/** Bad input: the same EINVAL / ENAMETOOLONG on every method, before any I/O. */
export function describeBadInput({ fixture }: AreaContext): void {
  describe('bad input', () => {
    const driver = useDriver(fixture);

    it('writes the one file the bad calls must leave alone', async () => {
      await writeText(driver(), EXISTING, 'untouched');
    });

    for (const { label, path, fileOnly } of INVALID_PATHS) {
      it(`rejects ${label} (${JSON.stringify(path)}) with EINVAL on every method`, async () => {
        const methods = METHODS.filter((m) => !(fileOnly && m.directory));
        expect(await failuresOf(driver(), methods, path, 'EINVAL')).toEqual([]);
      });
    }

    it('rejects a name one byte over the limit with ENAMETOOLONG on every method', async () => {
      const tooLong = 'n'.repeat(driver().capabilities.limits.maxNameBytes + 1);
      expect(await failuresOf(driver(), METHODS, `folder/${tooLong}`, 'ENAMETOOLONG')).toEqual([]);
    });

    it('rejects a key over the total key limit with ENAMETOOLONG on every method', async () => {
      const { maxNameBytes, maxKeyBytes } = driver().capabilities.limits;
      const segment = 'k'.repeat(Math.min(100, maxNameBytes));
      const segments: string[] = [];
      while (Buffer.byteLength(segments.join('/')) <= maxKeyBytes) segments.push(segment);
      expect(await failuresOf(driver(), METHODS, segments.join('/'), 'ENAMETOOLONG')).toEqual([]);
    });

    it('the bad calls did nothing: the existing file is intact and nothing else appeared', async () => {
      expect(await readText(driver(), EXISTING)).toBe('untouched');
      const { entries } = await listAll(driver(), '', { recursive: true });
      expect(describeEntries(entries)).toEqual([`file:${EXISTING}`]);
    });

    it("an inner '..' that stays inside the root is fine", async () => {
      await writeText(driver(), 'inside/../inside-ok.txt', 'fine');
      expect(await readText(driver(), 'inside-ok.txt')).toBe('fine');
      await driver().delete('inside-ok.txt');
    });
  });
}

/**
 * Calls each method with `path`; returns a line per method that did not
 * answer `code`. Destructive methods are not called once a harmless one failed.
 */
async function failuresOf(driver: StorageDriver, methods: MethodCall[], path: string, code: FsErrorCode): Promise<string[]> {
  const failures: string[] = [];
  for (const method of methods) {
    if (method.destructive && failures.length > 0) {
      failures.push(`${method.name}: not tried, since the path was accepted by a harmless method`);
      continue;
    }
    const codes: FsErrorCode[] = method.capability && !driver.capabilities[method.capability] ? [code, 'ENOTSUP'] : [code];
    try {
      if (method.sync) expectSyncCode(() => method.call(driver, path), ...codes);
      else await expectCode(() => method.call(driver, path) as Promise<unknown>, ...codes);
    } catch (err) {
      failures.push(`${method.name}: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`);
    }
  }
  return failures;
}
