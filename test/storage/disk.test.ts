import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { verifySignedUrl } from '../../src/core/signing.js';
import { MemoryDriver } from '../../src/drivers/memory/index.js';
import { Disk } from '../../src/storage/disk.js';
import { LazyDriver } from '../../src/storage/driver-source.js';
import { expectCode } from '../conformance/support.js';
import { countingLists, localBackend, memoryBackend, TEST_SIGNING_KEY, TEST_URL, type DiskBackend } from './support/disk-backends.js';

const text = async (stream: Readable): Promise<string> => {
  let out = '';
  for await (const chunk of stream) out += (chunk as Buffer).toString();
  return out;
};

describe.each([memoryBackend(), localBackend()])('Disk on $name', (backend: DiskBackend) => {
  const disk = async (options: ConstructorParameters<typeof Disk>[1] = {}): Promise<Disk> => new Disk(await backend.create(), { name: backend.name, ...options });
  afterAll(() => backend.cleanup());

  describe('put and get', () => {
    it('stores every kind of contents and reads them back as Buffer and text', async () => {
      const d = await disk();
      const web = new ReadableStream<Uint8Array>({
        start(controller) {
          controller.enqueue(new TextEncoder().encode('web '));
          controller.enqueue(new TextEncoder().encode('stream'));
          controller.close();
        },
      });
      async function* asyncChunks() {
        yield 'async ';
        yield Buffer.from('generator');
      }
      function* syncChunks() {
        yield 'sync ';
        yield new Uint8Array([0x67, 0x65, 0x6e]);
      }
      const cases: [string, Parameters<Disk['put']>[1], string][] = [
        ['string.txt', 'héllo', 'héllo'],
        ['buffer.bin', Buffer.from('buffer'), 'buffer'],
        ['uint8.bin', new Uint8Array([0x75, 0x38]), 'u8'],
        ['readable.txt', Readable.from([Buffer.from('node '), Buffer.from('readable')]), 'node readable'],
        ['web.txt', web, 'web stream'],
        ['async.txt', asyncChunks(), 'async generator'],
        ['sync.txt', syncChunks(), 'sync gen'],
        ['blob.txt', new Blob(['a ', 'blob']), 'a blob'],
        ['empty.txt', '', ''],
      ];
      for (const [path, contents, expected] of cases) {
        const result = await d.put(`dir/${path}`, contents);
        expect(result.size, path).toBe(Buffer.byteLength(expected));
        expect((await d.get(`dir/${path}`)).toString('utf8'), path).toBe(expected);
        expect(await d.getText(`dir/${path}`), path).toBe(expected);
      }
      expect(await d.getText('dir/string.txt', 'latin1')).toBe(Buffer.from('héllo').toString('latin1'));
    });

    it('writeStream stores what a generator yields, as the seed example does', async () => {
      const d = await disk();
      function* lines() {
        for (let i = 0; i < 20_000; i++) yield `Line ${i}\n`;
      }
      const expected = [...lines()].join('');
      const result = await d.writeStream('data.txt', lines());
      expect(result.size).toBe(Buffer.byteLength(expected));
      expect(await d.size('data.txt')).toBe(result.size);
      expect(createHash('sha256').update(await d.get('data.txt')).digest('hex')).toBe(createHash('sha256').update(expected).digest('hex'));
    });

    it('rejects contents of the wrong type, and chunks of the wrong type, with EINVAL, storing nothing', async () => {
      const d = await disk();
      await expectCode(d.put('bad.txt', 42 as unknown as string), 'EINVAL');
      await expectCode(d.put('bad.txt', null as unknown as string), 'EINVAL');
      async function* mixed() {
        yield 'fine';
        yield 7 as unknown as string;
      }
      await expectCode(d.put('bad.txt', mixed()), 'EINVAL');
      expect(await d.exists('bad.txt')).toBe(false);
    });

    it('passes visibility, content type and metadata to the backend', async () => {
      const d = await disk();
      const caps = await d.capabilities();
      // The local driver keeps no content type of its own: it guesses from the extension, so both agree on .csv.
      await d.put('typed.csv', 'x', { mimeType: 'text/csv', visibility: 'private', ...(caps.metadata ? { metadata: { Owner: 'ann' } } : {}) });
      expect(await d.mimeType('typed.csv')).toBe('text/csv');
      expect(await d.getVisibility('typed.csv')).toBe('private');
      const meta = await d.metadata('typed.csv');
      expect(meta).toMatchObject({ path: 'typed.csv', type: 'file', size: 1, mimeType: 'text/csv' });
      expect(meta.lastModified).toBeInstanceOf(Date);
      expect(meta.metadata).toEqual(caps.metadata ? { owner: 'ann' } : {});
    });

    it('reads a byte range as a stream; a missing file rejects at readStream with ENOENT', async () => {
      const d = await disk();
      await d.put('range.txt', '0123456789');
      expect(await text(await d.readStream('range.txt', { offset: 2, length: 3 }))).toBe('234');
      expect(await text(await d.readStream('range.txt', { offset: 8 }))).toBe('89');
      expect(await text(await d.readStream('range.txt'))).toBe('0123456789');
      await expectCode(d.readStream('nope.txt'), 'ENOENT');
    });

    it('refuses bad paths with EINVAL before any I/O', async () => {
      const d = await disk();
      await expectCode(d.put('/absolute.txt', 'x'), 'EINVAL');
      await expectCode(d.get('../out.txt'), 'EINVAL');
      await expectCode(d.exists('a\0b'), 'EINVAL');
    });
  });

  describe('missing files', () => {
    it('plain reads of a missing file reject with ENOENT', async () => {
      const d = await disk();
      const reads = [() => d.get('x'), () => d.getText('x'), () => d.size('x'), () => d.lastModified('x'), () => d.mimeType('x'), () => d.checksum('x'), () => d.metadata('x')];
      for (const read of reads) await expectCode(read, 'ENOENT');
    });

    it('the orNull() view answers null for a missing file, keeps other errors, and shares the driver', async () => {
      const d = await disk();
      const nullable = d.orNull();
      const reads = [
        () => nullable.get('x'),
        () => nullable.getText('x'),
        () => nullable.readStream('x'),
        () => nullable.size('x'),
        () => nullable.lastModified('x'),
        () => nullable.mimeType('x'),
        () => nullable.checksum('x'),
        () => nullable.metadata('x'),
        () => nullable.getVisibility('x'),
      ];
      for (const read of reads) expect(await read()).toBeNull();
      await d.makeDirectory('folder');
      await expectCode(nullable.get('folder'), 'EISDIR');
      await expectCode(nullable.get('/abs'), 'EINVAL');
      await nullable.put('shared.txt', 'same driver');
      expect(await d.getText('shared.txt')).toBe('same driver');
    });
  });

  describe('existence', () => {
    it('exists is true for files and directories; fileExists/directoryExists tell them apart; missing is the opposite', async () => {
      const d = await disk();
      await d.put('docs/a.txt', 'a');
      await d.makeDirectory('empty');
      expect([await d.exists('docs/a.txt'), await d.exists('docs'), await d.exists('empty'), await d.exists('nope')]).toEqual([true, true, true, false]);
      expect([await d.fileExists('docs/a.txt'), await d.fileExists('docs'), await d.fileExists('nope')]).toEqual([true, false, false]);
      expect([await d.directoryExists('docs'), await d.directoryExists('docs/a.txt'), await d.directoryExists(''), await d.directoryExists('nope')]).toEqual([
        true,
        false,
        true,
        false,
      ]);
      expect([await d.missing('nope'), await d.missing('docs/a.txt')]).toEqual([true, false]);
      expect(await d.exists('docs/a.txt/below')).toBe(false);
    });
  });

  describe('delete, copy, move', () => {
    it('deletes one path or many; a missing file is success, a directory EISDIR', async () => {
      const d = await disk();
      for (const name of ['a', 'b', 'c', 'd']) await d.put(`${name}.txt`, name);
      await d.delete('a.txt');
      await d.delete(['b.txt', 'c.txt', 'never-there.txt']);
      expect(await d.allFiles()).toEqual(['d.txt']);
      await d.makeDirectory('dir');
      await expectCode(d.delete(['d.txt', 'dir']), 'EISDIR');
      expect(await d.exists('d.txt')).toBe(false);
    });

    it('copies and moves files; a missing source is ENOENT', async () => {
      const d = await disk();
      await d.put('src.txt', 'content', { visibility: 'private' });
      await d.copy('src.txt', 'backup/copy.txt');
      expect(await d.getText('backup/copy.txt')).toBe('content');
      expect(await d.getVisibility('backup/copy.txt')).toBe('private');
      await d.move('src.txt', 'archive/moved.txt');
      expect(await d.exists('src.txt')).toBe(false);
      expect(await d.getText('archive/moved.txt')).toBe('content');
      await expectCode(d.copy('nope.txt', 'x.txt'), 'ENOENT');
      await expectCode(d.move('nope.txt', 'x.txt'), 'ENOENT');
    });
  });

  describe('metadata', () => {
    it('answers size, lastModified, mimeType and checksums; file-only questions on a directory are EISDIR', async () => {
      const d = await disk();
      const before = Date.now();
      await d.put('file.json', '{"a":1}');
      expect(await d.size('file.json')).toBe(7);
      expect((await d.lastModified('file.json')).getTime()).toBeGreaterThanOrEqual(before - 2000);
      expect(await d.mimeType('file.json')).toBe('application/json');
      const sha256 = createHash('sha256').update('{"a":1}').digest('hex');
      const md5 = createHash('md5').update('{"a":1}').digest('hex');
      const native = await d.checksum('file.json');
      expect(native.hex).toBe(native.algorithm === 'md5' ? md5 : sha256);
      expect(await d.checksum('file.json', { algorithm: 'sha256' })).toEqual({ algorithm: 'sha256', hex: sha256 });
      expect(await d.checksum('file.json', { algorithm: 'md5' })).toEqual({ algorithm: 'md5', hex: md5 });
      await d.makeDirectory('folder');
      await expectCode(d.size('folder'), 'EISDIR');
      await expectCode(d.mimeType('folder'), 'EISDIR');
      expect((await d.metadata('folder')).type).toBe('directory');
    });

    it('gets and sets visibility', async () => {
      const d = await disk();
      await d.put('v.txt', 'v', { visibility: 'public' });
      expect(await d.getVisibility('v.txt')).toBe('public');
      await d.setVisibility('v.txt', 'private');
      expect(await d.getVisibility('v.txt')).toBe('private');
      await expectCode(d.setVisibility('missing.txt', 'public'), 'ENOENT');
    });
  });

  describe('append and prepend', () => {
    it('create a missing file, add with an optional separator, keep the type and visibility', async () => {
      const d = await disk();
      await d.append('log.txt', 'first');
      expect(await d.getText('log.txt')).toBe('first');
      await d.append('log.txt', 'second', { separator: '\n' });
      await d.prepend('log.txt', 'zeroth', { separator: '\n' });
      await d.append('log.txt', Buffer.from('!'));
      expect(await d.getText('log.txt')).toBe('zeroth\nfirst\nsecond!');
      await d.put('typed.log', 'a', { mimeType: (await d.capabilities()).inProcess ? 'text/x-log' : 'text/plain', visibility: 'private' });
      await d.append('typed.log', 'b');
      expect(await d.mimeType('typed.log')).toBe((await d.capabilities()).inProcess ? 'text/x-log' : 'text/plain');
      expect(await d.getVisibility('typed.log')).toBe('private');
      expect(await d.getText('typed.log')).toBe('ab');
    });

    it('refuse with EFBIG past maxRewriteBytes, leaving the file as it was; EISDIR on a directory', async () => {
      const d = await disk({ maxRewriteBytes: 10 });
      await d.put('small.txt', '12345678');
      await expectCode(d.append('small.txt', 'abc'), 'EFBIG');
      await expectCode(d.prepend('small.txt', 'abc'), 'EFBIG');
      await expectCode(d.append('new.txt', 'x'.repeat(11)), 'EFBIG');
      expect(await d.getText('small.txt')).toBe('12345678');
      await d.append('small.txt', 'ab');
      expect(await d.getText('small.txt')).toBe('12345678ab');
      await d.makeDirectory('dir');
      await expectCode(d.append('dir', 'x'), 'EISDIR');
    });
  });

  describe('directories and listings', () => {
    it('lists files and directories, shallow and recursive, with disk-relative paths', async () => {
      const d = await disk();
      for (const path of ['top.txt', 'uploads/a.jpg', 'uploads/b.jpg', 'uploads/2025/c.jpg', 'uploads/2025/06/d.jpg']) await d.put(path, path);
      await d.makeDirectory('uploads/empty');
      const sorted = async (listing: PromiseLike<string[]>) => [...(await listing)].sort();
      expect(await sorted(d.files('uploads'))).toEqual(['uploads/a.jpg', 'uploads/b.jpg']);
      expect(await sorted(d.allFiles('uploads'))).toEqual(['uploads/2025/06/d.jpg', 'uploads/2025/c.jpg', 'uploads/a.jpg', 'uploads/b.jpg']);
      expect(await sorted(d.directories('uploads'))).toEqual(['uploads/2025', 'uploads/empty']);
      expect(await sorted(d.allDirectories('uploads'))).toEqual(['uploads/2025', 'uploads/2025/06', 'uploads/empty']);
      expect(await sorted(d.files())).toEqual(['top.txt']);
      expect((await d.list('uploads')).map((e) => `${e.type}:${e.path}`).sort()).toEqual([
        'directory:uploads/2025',
        'directory:uploads/empty',
        'file:uploads/a.jpg',
        'file:uploads/b.jpg',
      ]);
      expect(await d.files('no-such-folder')).toEqual([]);
      await expectCode(d.files('top.txt').toArray(), 'ENOTDIR');
    });

    it('makeDirectory is idempotent; deleteDirectory removes everything below', async () => {
      const d = await disk();
      await d.makeDirectory('a/b/c');
      await d.makeDirectory('a/b/c');
      expect(await d.directoryExists('a/b/c')).toBe(true);
      await d.put('a/b/file.txt', 'x');
      await d.deleteDirectory('a');
      expect(await d.exists('a/b/file.txt')).toBe(false);
      expect(await d.exists('a')).toBe(false);
      await d.deleteDirectory('never-was');
    });
  });

  describe('URLs', () => {
    it('url, temporaryUrl (seconds or Date) and temporaryUploadUrl, signed with the disk key', async () => {
      const d = await disk();
      await d.put('docs/a b.pdf', 'pdf');
      expect(await d.url('docs/a b.pdf')).toBe(`${TEST_URL}/docs/a%20b.pdf`);
      const inSeconds = await d.temporaryUrl('docs/a b.pdf', 60);
      expect(verifySignedUrl(inSeconds, TEST_SIGNING_KEY, 'GET')).toBe('/files/docs/a b.pdf');
      const byDate = await d.temporaryUrl('docs/a b.pdf', new Date(Date.now() + 3_600_000));
      const expires = Number(new URL(byDate).searchParams.get('expires'));
      expect(Math.abs(expires - (Date.now() / 1000 + 3600))).toBeLessThan(5);
      const upload = await d.temporaryUploadUrl('up.txt', 60, { mimeType: 'text/plain' });
      expect(verifySignedUrl(upload, TEST_SIGNING_KEY, 'PUT')).toBe('/files/up.txt');
      await expectCode(d.temporaryUrl('docs/a b.pdf', new Date(Date.now() - 1000)), 'EINVAL');
      await expectCode(d.temporaryUrl('docs/a b.pdf', 0), 'EINVAL');
      await expectCode(d.temporaryUrl('docs/a b.pdf', 10 * 86_400), 'EINVAL');
    });
  });
});

describe('Disk listings page lazily', () => {
  it('for await reads one page at a time and stops when the loop breaks; await collects every page', async () => {
    const memory = new MemoryDriver();
    const { driver, lists } = countingLists(memory);
    const disk = new Disk(driver, { listPageSize: 2 });
    for (let i = 0; i < 9; i++) await disk.put(`many/f${i}.txt`, String(i));
    const listing = disk.allFiles('many');
    expect(lists()).toBe(0);
    const seen: string[] = [];
    for await (const path of listing) {
      seen.push(path);
      if (seen.length === 3) break;
    }
    expect(seen).toHaveLength(3);
    expect(lists()).toBe(2);
    const pages: string[][] = [];
    for await (const page of disk.allFiles('many').pages()) pages.push(page);
    expect(pages.length).toBeGreaterThanOrEqual(5);
    expect(pages.flat().sort()).toEqual(Array.from({ length: 9 }, (_, i) => `many/f${i}.txt`).sort());
    const all = await disk.allFiles('many');
    expect(all).toHaveLength(9);
  });

  it('a disk on a LazyDriver builds its driver on first use, once, and again after close', async () => {
    let builds = 0;
    const disk = new Disk(
      new LazyDriver(() => {
        builds++;
        return new MemoryDriver();
      }),
    );
    expect(builds).toBe(0);
    await disk.put('a.txt', 'a');
    await disk.put('b.txt', 'b');
    expect(builds).toBe(1);
    await disk.close();
    expect(await disk.exists('a.txt')).toBe(false);
    expect(builds).toBe(2);
  });
});
