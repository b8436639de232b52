import { AssertionError } from 'node:assert';
import { existsSync, readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeDisk } from '../../src/storage/fake.js';
import { StorageManager } from '../../src/storage/manager.js';
import { expectSyncCode } from '../conformance/support.js';

/** Resolves when `action` rejects with node's AssertionError; fails the test otherwise. */
async function expectAssertionFailure(action: Promise<unknown>): Promise<AssertionError> {
  const error = await action.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(error).toBeInstanceOf(AssertionError);
  return error as AssertionError;
}

describe('Storage.fake', () => {
  const manager = new StorageManager({ config: { default: 'local', disks: { local: { driver: 'memory' }, s3: { driver: 'memory' } } } });
  afterEach(() => manager.restore());

  it('swaps a disk for an empty memory fake and restore() puts the real one back, untouched', async () => {
    await manager.disk('s3').put('real.txt', 'real');
    const fake = manager.fake('s3');
    expect(fake).toBeInstanceOf(FakeDisk);
    expect(manager.disk('s3')).toBe(fake);
    expect(fake.kind).toBe('memory');
    await manager.disk('s3').put('test.txt', 'content');
    await manager.disk('s3').assertExists('test.txt');
    await manager.disk('s3').assertMissing('real.txt');
    expect((await manager.disk('s3').get('test.txt')).toString()).toBe('content');
    await manager.restore('s3');
    expect(manager.disk('s3')).not.toBe(fake);
    expect(await manager.disk('s3').getText('real.txt')).toBe('real');
    expect(await manager.disk('s3').exists('test.txt')).toBe(false);
  });

  it('fakes the default disk without a name, and a name that is not configured', async () => {
    const fake = manager.fake();
    expect(fake.name).toBe('local');
    await manager.put('default.txt', 'd');
    await fake.assertExists('default.txt', 'd');
    const ghost = manager.fake('nowhere');
    await manager.disk('nowhere').put('g.txt', 'g');
    await ghost.assertExists('g.txt');
    await manager.restore();
    expectSyncCode(() => manager.disk('nowhere'), 'EINVAL');
    expect(await manager.exists('default.txt')).toBe(false);
  });

  it('a folder fake keeps files in a temporary folder that restore() deletes', async () => {
    const fake = manager.fake('s3', { kind: 'folder' });
    expect(fake.root).toBeDefined();
    await manager.disk('s3').put('docs/a.txt', 'on disk');
    expect(readFileSync(`${fake.root}/docs/a.txt`, 'utf8')).toBe('on disk');
    await manager.disk('s3').assertExists(['docs/a.txt', 'docs'], undefined);
    await manager.restore('s3');
    expect(existsSync(fake.root!)).toBe(false);
  });

  it('faking again starts a fresh fake and disposes of the previous one', async () => {
    const first = manager.fake('s3', { kind: 'folder' });
    await first.put('one.txt', '1');
    const second = manager.fake('s3');
    await second.assertMissing('one.txt');
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(existsSync(first.root!)).toBe(false);
  });

  it("a fake's url and temporary URLs work, and verifyTemporaryUrl checks them", async () => {
    const fake = manager.fake('s3');
    await fake.put('private/doc one.pdf', 'pdf');
    expect(await fake.url('private/doc one.pdf')).toBe(`${fake.baseUrl}/private/doc%20one.pdf`);
    const url = await fake.temporaryUrl('private/doc one.pdf', 60);
    expect(fake.verifyTemporaryUrl(url)).toBe('private/doc one.pdf');
    const upload = await fake.temporaryUploadUrl('incoming/x.bin', new Date(Date.now() + 60_000));
    expect(fake.verifyTemporaryUrl(upload, 'PUT')).toBe('incoming/x.bin');
    expectSyncCode(() => fake.verifyTemporaryUrl(upload, 'GET'), 'EACCES');
    expectSyncCode(() => fake.verifyTemporaryUrl(url.replace('doc%20one', 'other')), 'EACCES');
    expectSyncCode(() => fake.verifyTemporaryUrl(url.replace(/expires=\d+/, 'expires=9999999999')), 'EACCES');
    expectSyncCode(() => fake.verifyTemporaryUrl(url.replace(fake.baseUrl, 'https://elsewhere.invalid/s3')), 'EACCES');
    const shortLived = await fake.temporaryUrl('private/doc one.pdf', 1);
    await new Promise((resolve) => setTimeout(resolve, 2100));
    expectSyncCode(() => fake.verifyTemporaryUrl(shortLived), 'EACCES');
  });

  it('fake events reach the manager listeners', async () => {
    const seen: string[] = [];
    const stop = manager.on('written', (event) => void seen.push(`${event.disk}:${event.path}`));
    manager.fake('s3');
    await manager.disk('s3').put('e.txt', 'e');
    stop();
    expect(seen).toEqual(['s3:e.txt']);
  });
});

describe('disk assertions', () => {
  const manager = new StorageManager({ config: { disks: { s3: { driver: 'memory' } } } });
  afterEach(() => manager.restore());

  it('assertExists passes for files and folders (with content for files) and fails clearly otherwise', async () => {
    const disk = manager.fake('s3');
    await disk.put('a.txt', 'alpha');
    await disk.put('b.bin', Buffer.from([1, 2, 3]));
    await disk.assertExists('a.txt');
    await disk.assertExists(['a.txt', 'b.bin']);
    await disk.assertExists('a.txt', 'alpha');
    await disk.assertExists('b.bin', new Uint8Array([1, 2, 3]));
    const missing = await expectAssertionFailure(disk.assertExists(['a.txt', 'nope.txt']));
    expect(missing.operator).toBe('assertExists');
    const wrong = await expectAssertionFailure(disk.assertExists('a.txt', 'beta'));
    expect([wrong.actual, wrong.expected]).toEqual(['alpha', 'beta']);
    await disk.makeDirectory('folder');
    await disk.assertExists('folder');
    await expectAssertionFailure(disk.assertExists('folder', 'content'));
  });

  it('assertMissing passes for absent paths and fails for a file or a folder', async () => {
    const disk = manager.fake('s3');
    await disk.put('dir/here.txt', 'x');
    await disk.assertMissing(['gone.txt', 'dir/gone.txt', 'dir/here.txt/below']);
    await expectAssertionFailure(disk.assertMissing('dir/here.txt'));
    await expectAssertionFailure(disk.assertMissing(['gone.txt', 'dir']));
  });

  it('assertCount counts files (shallow or recursive) and reports the numbers', async () => {
    const disk = manager.fake('s3');
    for (const path of ['up/a', 'up/b', 'up/sub/c', 'up/sub/deeper/d']) await disk.put(path, path);
    await disk.makeDirectory('up/empty');
    await disk.assertCount('up', 2);
    await disk.assertCount('up', 4, { recursive: true });
    await disk.assertCount('nothing-here', 0);
    const failure = await expectAssertionFailure(disk.assertCount('up', 3));
    expect([failure.actual, failure.expected]).toEqual([2, 3]);
  });

  it('assertDirectoryEmpty passes without files below (empty subfolders allowed, as in Laravel) and fails with one', async () => {
    const disk = manager.fake('s3');
    await disk.makeDirectory('inbox/sub');
    await disk.assertDirectoryEmpty('inbox');
    await disk.assertDirectoryEmpty('never-made');
    await disk.put('inbox/sub/file.txt', 'f');
    await expectAssertionFailure(disk.assertDirectoryEmpty('inbox'));
  });

  it('the assertions work on any disk and through the manager, on the default disk', async () => {
    const real = new StorageManager({ config: { disks: { m: { driver: 'memory' } } } });
    await real.put('x.txt', 'x');
    await real.assertExists('x.txt', 'x');
    await real.assertMissing('y.txt');
    await real.assertCount('', 1);
    await expectAssertionFailure(real.assertDirectoryEmpty(''));
    await real.close();
  });
});
