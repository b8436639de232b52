import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryDriver } from '../../src/drivers/memory/index.js';
import type { Checksum, FileStat, ListOptions, ListPage, ReadOptions, StorageDriver, TemporaryUrlOptions, Visibility } from '../../src/drivers/types.js';
import { ForwardingDriver } from '../../src/storage/decorators/forwarding-driver.js';
import { createReadOnlyDriver } from '../../src/storage/decorators/read-only.js';
import { describeBadInput } from '../conformance/bad-input.js';
import { describeConcurrency } from '../conformance/concurrency.js';
import { describeExistence } from '../conformance/existence.js';
import { describeListing } from '../conformance/listing.js';
import { describeMetadata } from '../conformance/metadata.js';
import { describeNames } from '../conformance/names.js';
import { describeRanges } from '../conformance/ranges.js';
import { describeUrls } from '../conformance/urls.js';
import { describeWriteRead } from '../conformance/write-read.js';
import { describeEntries, expectCode, expectSyncCode, listAll, readBytes, readText, sha256Hex, writeText } from '../conformance/support.js';
import { stackedFixtures, type StackedFixture } from './support/decorator-fixtures.js';

/**
 * The read side of the conformance suite on read-only(memory|local|s3). The
 * whole suite cannot run on a read-only driver as it is (every area writes
 * its own files first), so each case talks to a SeededReadOnly: its changes
 * are forwarded unchanged to the inner driver, every read (stat, list, read,
 * checksum, visibility, url, temporaryUrl) goes through the read-only driver
 * under test.
 * Left out: copy/move (only changes), the 64 MiB file and the outage
 * (the read-only driver hands the inner's streams and errors through untouched;
 * the scoped and cdn suites cover both for stacked drivers).
 */
class SeededReadOnly extends ForwardingDriver {
  private readonly reader: StorageDriver;

  constructor(inner: StorageDriver) {
    const reader = createReadOnlyDriver(inner);
    // The write side's capabilities (temporaryUploadUrl included); reads keep the inner's anyway.
    super(inner, `seeded ${reader.name}`, inner.capabilities);
    this.reader = reader;
  }
  override stat(path: string): Promise<FileStat> {
    return this.reader.stat(path);
  }
  override list(dir: string, options: ListOptions): Promise<ListPage> {
    return this.reader.list(dir, options);
  }
  override read(path: string, options?: ReadOptions): Promise<Readable> {
    return this.reader.read(path, options);
  }
  override getVisibility(path: string): Promise<Visibility> {
    return this.reader.getVisibility(path);
  }
  override checksum(path: string): Promise<Checksum> {
    return this.reader.checksum(path);
  }
  override url(path: string): string {
    return this.reader.url(path);
  }
  override temporaryUrl(path: string, options: TemporaryUrlOptions): Promise<string> {
    return this.reader.temporaryUrl(path, options);
  }
  override close(): Promise<void> {
    return this.reader.close(); // closes the inner driver too
  }
}

for (const fixture of stackedFixtures('read-only (read side, seeded through the inner driver)', (inner) => new SeededReadOnly(inner))) {
  describe(`driver conformance, read side: ${fixture.name}`, () => {
    beforeAll(() => fixture.start());
    afterAll(() => fixture.stop());
    const context = { fixture };
    describeWriteRead(context);
    describeNames(context);
    describeRanges(context);
    describeExistence(context);
    describeListing(context);
    describeMetadata(context);
    describeUrls(context);
    describeBadInput(context);
    describeConcurrency(context);
  });
}

/** Every mutating call, with a valid path, and the path its EROFS must name. */
const MUTATIONS: ReadonlyArray<{ name: string; path: string; call(driver: StorageDriver): Promise<unknown> }> = [
  { name: 'write (bytes)', path: 'file.txt', call: (d) => d.write('file.txt', Buffer.from('changed')) },
  { name: 'write (new file)', path: 'new.txt', call: (d) => d.write('new.txt', Buffer.from('new')) },
  { name: 'delete', path: 'file.txt', call: (d) => d.delete('file.txt') },
  { name: 'delete (missing)', path: 'missing.txt', call: (d) => d.delete('missing.txt') },
  { name: 'createDirectory', path: 'made', call: (d) => d.createDirectory('made') },
  { name: 'deleteDirectory', path: 'dir', call: (d) => d.deleteDirectory('dir') },
  { name: 'deleteDirectory (root)', path: '', call: (d) => d.deleteDirectory('') },
  { name: 'copy', path: 'copy.txt', call: (d) => d.copy('file.txt', 'copy.txt') },
  { name: 'copy onto an existing file', path: 'dir/nested.txt', call: (d) => d.copy('file.txt', 'dir/nested.txt') },
  { name: 'move', path: 'file.txt', call: (d) => d.move('file.txt', 'moved.txt') },
  { name: 'setVisibility', path: 'file.txt', call: (d) => d.setVisibility('file.txt', 'private') },
  { name: 'temporaryUploadUrl', path: 'upload.txt', call: (d) => d.temporaryUploadUrl('upload.txt', { expiresIn: 60 }) },
];

describe('read-only driver: refusals', () => {
  for (const fixture of stackedFixtures('read-only', (inner) => createReadOnlyDriver(inner))) describeRefusals(fixture);

  it('refuses before any I/O: a failing backend is never reached, a body stream is released unread', async () => {
    const inner = new MemoryDriver();
    const rule = inner.failures.inject({ op: '*', code: 'EIO' });
    const readOnly = createReadOnlyDriver(inner);
    for (const mutation of MUTATIONS) await expectCode(mutation.call(readOnly), 'EROFS');
    expect(rule.fired).toBe(0);
    const body = Readable.from([Buffer.from('never read')]);
    await expectCode(readOnly.write('streamed.txt', body), 'EROFS');
    expect(body.destroyed).toBe(true);
    await expectCode(readOnly.stat('file.txt'), 'EIO'); // reads do reach the backend
  });

  it('answers EINVAL, not EROFS, for a path no driver would accept', async () => {
    const readOnly = createReadOnlyDriver(new MemoryDriver());
    await expectCode(readOnly.write('../up.txt', Buffer.from('x')), 'EINVAL');
    await expectCode(readOnly.delete('/abs.txt'), 'EINVAL');
    await expectCode(readOnly.createDirectory('a/../..'), 'EINVAL');
    await expectCode(readOnly.copy('ok.txt', 'nul\0.txt'), 'EINVAL');
    await expectCode(readOnly.move('', 'ok.txt'), 'EINVAL');
    await expectCode(readOnly.setVisibility('', 'public'), 'EINVAL');
  });

  it('names itself after the inner driver and drops only temporaryUploadUrl from the capabilities', () => {
    const inner = new MemoryDriver({ url: 'http://127.0.0.1:1/m', signingKey: 'k' });
    const readOnly = createReadOnlyDriver(inner);
    expect(readOnly.name).toBe('read-only(memory)');
    expect(readOnly.capabilities).toEqual({ ...inner.capabilities, temporaryUploadUrl: false });
    expect(readOnly.url('a b.txt')).toBe(inner.url('a b.txt'));
    expectSyncCode(() => createReadOnlyDriver(new MemoryDriver()).url('x.txt'), 'ENOTSUP');
  });
});

function describeRefusals(fixture: StackedFixture): void {
  describe(fixture.name, () => {
    let inner: StorageDriver;
    let readOnly: StorageDriver;
    let before: string[] = [];

    beforeAll(async () => {
      await fixture.start();
      ({ inner, outer: readOnly } = await fixture.createPair());
      const visibility = inner.capabilities.visibility ? { visibility: 'public' as const } : {};
      await writeText(inner, 'file.txt', 'original', visibility);
      await writeText(inner, 'dir/nested.txt', 'nested');
      if (inner.capabilities.emptyDirectories) await inner.createDirectory('dir/empty');
      before = await snapshot(inner);
    });
    afterAll(async () => {
      await readOnly?.close();
      await fixture.stop();
    });

    for (const mutation of MUTATIONS) {
      it(`${mutation.name} is EROFS naming '${mutation.path}'`, async () => {
        const error = await expectCode(mutation.call(readOnly), 'EROFS');
        expect(error.path).toBe(mutation.path);
      });
    }

    it('after every refusal the inner driver holds exactly what it held before', async () => {
      expect(await snapshot(inner)).toEqual(before);
    });

    it('reads pass through: read, ranges, stat, list, checksum, visibility', async () => {
      expect(await readText(readOnly, 'file.txt')).toBe('original');
      expect((await readBytes(readOnly, 'file.txt', { range: { offset: 2, length: 3 } })).toString()).toBe('igi');
      expect((await readOnly.stat('dir/nested.txt')).size).toBe(6);
      await expectCode(readOnly.stat('missing.txt'), 'ENOENT');
      const { entries } = await listAll(readOnly, '', { recursive: true });
      expect(describeEntries(entries)).toEqual(describeEntries((await listAll(inner, '', { recursive: true })).entries));
      expect(await readOnly.checksum('file.txt')).toEqual(await inner.checksum('file.txt'));
      if (inner.capabilities.visibility) expect(await readOnly.getVisibility('file.txt')).toBe('public');
    });

    it('url and temporaryUrl pass through and serve the bytes', async () => {
      expect(readOnly.url('file.txt')).toBe(inner.url('file.txt'));
      expect(await (await fetch(readOnly.url('file.txt'))).text()).toBe('original');
      expect(await (await fetch(await readOnly.temporaryUrl('dir/nested.txt', { expiresIn: 60 }))).text()).toBe('nested');
    });
  });
}

/** Every entry of the driver with its size, content hash and (where supported) visibility, as sorted lines. */
async function snapshot(driver: StorageDriver): Promise<string[]> {
  const { entries } = await listAll(driver, '', { recursive: true });
  const lines: string[] = [];
  for (const entry of entries) {
    if (entry.type === 'directory') {
      lines.push(`directory:${entry.path}`);
      continue;
    }
    const hash = sha256Hex(await readBytes(driver, entry.path));
    const visibility = driver.capabilities.visibility ? await driver.getVisibility(entry.path) : '-';
    lines.push(`file:${entry.path}:${entry.size}:${hash}:${visibility}`);
  }
  return lines.sort();
}
