import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, open, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifySignedUrl } from '../../src/core/signing.js';
import { createLocalDriver, LocalDriver } from '../../src/drivers/local/index.js';
import { SafeRoot } from '../../src/drivers/local/safe-path.js';
import type { StorageDriver } from '../../src/drivers/types.js';
import { describeConformance } from '../conformance/index.js';
import { startUrlServer, type UrlServer } from '../support/url-server.js';
import { collect, describeEntries, expectCode, expectSyncCode, failingStream, listAll, readText, writeText } from '../conformance/support.js';

let base = '';
let counter = 0;
const signingKey = randomBytes(32).toString('base64url');
const urlServers: UrlServer[] = [];

describeConformance({
  name: 'local (mkdtemp folder)',
  async start() {
    base = await mkdtemp(join(tmpdir(), 'storaged-local-conf-'));
  },
  async stop() {
    await Promise.all(urlServers.splice(0).map((server) => server.close()));
    await rm(base, { recursive: true, force: true });
  },
  async createDriver() {
    // Each driver gets its own folder and its own URL server sharing the signing key.
    let driver: StorageDriver | undefined;
    const server = await startUrlServer(() => driver, { basePath: '/storage', signingKey });
    urlServers.push(server);
    // A root that does not exist yet: the driver creates it on the first write.
    const root = join(base, `disk-${++counter}`);
    driver = createLocalDriver({ driver: 'local', root, url: server.baseUrl }, { diskName: 'conformance', signingKey });
    return driver;
  },
  interruptSkipReason: 'a local folder cannot go away',
});

describe('local driver specifics', () => {
  let work = '';
  let outside = '';
  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'storaged-local-'));
    outside = join(work, 'outside');
    await mkdir(outside);
    await writeFile(join(outside, 'secret.txt'), 'top secret');
  });
  afterAll(async () => {
    await rm(work, { recursive: true, force: true });
  });

  async function freshDriver(extra: { url?: string; visibility?: 'public' | 'private'; signingKey?: string } = {}) {
    const root = join(work, `root-${randomBytes(4).toString('hex')}`);
    await mkdir(root);
    const driver = new LocalDriver(
      { driver: 'local', root, url: extra.url, visibility: extra.visibility },
      { diskName: 'test', signingKey: extra.signingKey },
    );
    return { driver, root };
  }

  describe('symlinks never lead out of the root', () => {
    let driver: StorageDriver;
    let root = '';
    beforeAll(async () => {
      ({ driver, root } = await freshDriver());
      await symlink(outside, join(root, 'out')); // a directory link leaving the root
      await symlink(join(outside, 'secret.txt'), join(root, 'secret-link')); // a file link leaving the root
      await symlink('/etc', join(root, 'etc'));
      await symlink(join(outside, 'missing'), join(root, 'dangling-out'));
      await writeText(driver, 'inside/real.txt', 'inside content');
      await symlink(join(root, 'inside'), join(root, 'inside-link')); // stays inside: followed
      await symlink('real.txt', join(root, 'inside', 'relative-link.txt'));
    });

    it('reading through a directory link to /etc fails and never returns /etc/passwd', async () => {
      await expectCode(driver.read('etc/passwd'), 'EACCES', 'ENOENT');
      await expectCode(driver.stat('etc/passwd'), 'EACCES', 'ENOENT');
      await expectCode(driver.checksum('etc/passwd'), 'EACCES', 'ENOENT');
    });

    it('reading, stat, visibility and checksum through an escaping link fail', async () => {
      for (const path of ['out/secret.txt', 'secret-link', 'out']) {
        await expectCode(driver.read(path), 'EACCES', 'ENOENT');
        await expectCode(driver.stat(path), 'EACCES', 'ENOENT');
        await expectCode(driver.getVisibility(path), 'EACCES', 'ENOENT');
        await expectCode(driver.setVisibility(path, 'private'), 'EACCES', 'ENOENT');
        await expectCode(driver.checksum(path), 'EACCES', 'ENOENT');
      }
      expect((await stat(join(outside, 'secret.txt'))).mode & 0o777).not.toBe(0o600);
    });

    it('writing, creating directories, copying and moving through an escaping link create nothing outside', async () => {
      await expectCode(driver.write('out/new.txt', Buffer.from('x')), 'EACCES', 'ENOENT');
      await expectCode(driver.write('etc/storaged-test.txt', Buffer.from('x')), 'EACCES', 'ENOENT');
      await expectCode(driver.write('out/sub/deeper/new.txt', Buffer.from('x')), 'EACCES', 'ENOENT');
      await expectCode(driver.write('dangling-out/new.txt', Buffer.from('x')), 'EACCES', 'ENOENT');
      await expectCode(driver.createDirectory('out/newdir'), 'EACCES', 'ENOENT');
      await expectCode(driver.copy('inside/real.txt', 'out/copied.txt'), 'EACCES', 'ENOENT');
      await expectCode(driver.copy('out/secret.txt', 'stolen.txt'), 'EACCES', 'ENOENT');
      await expectCode(driver.copy('secret-link', 'stolen.txt'), 'EACCES', 'ENOENT');
      await expectCode(driver.move('inside/real.txt', 'out/moved.txt'), 'EACCES', 'ENOENT');
      await expectCode(driver.move('out/secret.txt', 'stolen.txt'), 'EACCES', 'ENOENT');
      expect((await readdir(outside)).sort()).toEqual(['secret.txt']);
      expect(existsSync('/etc/storaged-test.txt')).toBe(false);
      expect(existsSync(join(root, 'stolen.txt'))).toBe(false);
      expect(await readText(driver, 'inside/real.txt')).toBe('inside content');
    });

    it('listing through an escaping link fails, and escaping links are left out of listings', async () => {
      await expectCode(driver.list('out', { recursive: false }), 'EACCES', 'ENOENT');
      await expectCode(driver.list('etc', { recursive: true }), 'EACCES', 'ENOENT');
      const shallow = describeEntries((await listAll(driver, '', { recursive: false })).entries);
      expect(shallow).toEqual(['directory:inside', 'directory:inside-link']);
      const deep = describeEntries((await listAll(driver, '', { recursive: true })).entries);
      // The in-root directory link is listed but not walked into (no entry twice, no cycles).
      expect(deep).toEqual(['directory:inside', 'directory:inside-link', 'file:inside/real.txt', 'file:inside/relative-link.txt']);
    });

    it('deleting through an escaping link fails; deleting the link itself removes only the link', async () => {
      await expectCode(driver.delete('out/secret.txt'), 'EACCES', 'ENOENT');
      await expectCode(driver.deleteDirectory('out/sub'), 'EACCES', 'ENOENT');
      expect(await readFile(join(outside, 'secret.txt'), 'utf8')).toBe('top secret');

      const { driver: other, root: otherRoot } = await freshDriver();
      await symlink(outside, join(otherRoot, 'dir-link'));
      await symlink(join(outside, 'secret.txt'), join(otherRoot, 'file-link'));
      await other.deleteDirectory('dir-link');
      await other.delete('file-link');
      expect(await readdir(otherRoot)).toEqual([]);
      expect(await readFile(join(outside, 'secret.txt'), 'utf8')).toBe('top secret');
    });

    it('deleteDirectory of a folder holding an escaping link removes the link, not its target', async () => {
      const { driver: other, root: otherRoot } = await freshDriver();
      await writeText(other, 'tree/a.txt', 'a');
      await symlink(outside, join(otherRoot, 'tree', 'escape'));
      await other.deleteDirectory('tree');
      expect(existsSync(join(otherRoot, 'tree'))).toBe(false);
      expect(await readFile(join(outside, 'secret.txt'), 'utf8')).toBe('top secret');
    });

    it('follows symlinks that stay inside the root', async () => {
      expect(await readText(driver, 'inside-link/real.txt')).toBe('inside content');
      expect(await readText(driver, 'inside/relative-link.txt')).toBe('inside content');
      expect((await driver.stat('inside-link')).type).toBe('directory');
      await writeText(driver, 'inside-link/through.txt', 'via link');
      expect(await readFile(join(root, 'inside', 'through.txt'), 'utf8')).toBe('via link');
      const listed = describeEntries((await listAll(driver, 'inside-link', { recursive: false })).entries);
      expect(listed).toContain('file:inside-link/through.txt');
    });

    it('an opened handle is checked against the root, closing the resolve/open race', async () => {
      const safe = new SafeRoot(root);
      const escaped = await open(join(outside, 'secret.txt'), 'r');
      const inside = await open(join(root, 'inside', 'real.txt'), 'r');
      try {
        await expectCode(safe.assertHandleInside(escaped, 'secret.txt'), 'EACCES');
        await safe.assertHandleInside(inside, 'inside/real.txt');
      } finally {
        await escaped.close();
        await inside.close();
      }
    });

    it('writing over an escaping file link replaces the link, never the outside file', async () => {
      const { driver: other, root: otherRoot } = await freshDriver();
      await symlink(join(outside, 'secret.txt'), join(otherRoot, 'link.txt'));
      await writeText(other, 'link.txt', 'replaced');
      expect(await readFile(join(otherRoot, 'link.txt'), 'utf8')).toBe('replaced');
      expect(await readFile(join(outside, 'secret.txt'), 'utf8')).toBe('top secret');
    });
  });

  describe('atomic writes', () => {
    it('a body failing midway leaves the old content and no temporary file', async () => {
      const { driver, root } = await freshDriver();
      await writeText(driver, 'dir/file.txt', 'old');
      await expectCode(driver.write('dir/file.txt', failingStream(randomBytes(100_000))), 'EIO');
      expect(await readFile(join(root, 'dir', 'file.txt'), 'utf8')).toBe('old');
      expect(await readdir(join(root, 'dir'))).toEqual(['file.txt']);
    });

    it('an aborted write rejects with ECANCELED and leaves nothing', async () => {
      const { driver, root } = await freshDriver();
      const controller = new AbortController();
      const body = failingStream(Buffer.alloc(10));
      controller.abort();
      await expectCode(driver.write('aborted.txt', body, { signal: controller.signal }), 'ECANCELED');
      expect(await readdir(root)).toEqual([]);
    });

    it('temporary files never appear in listings, and their names are refused as keys', async () => {
      const { driver, root } = await freshDriver();
      await writeText(driver, 'a/b.txt', 'b');
      await writeFile(join(root, 'a', '.storaged-tmp-0123456789abcdef'), 'leftover of a crash');
      await writeFile(join(root, '.storaged-tmp-feedface'), 'leftover');
      const deep = describeEntries((await listAll(driver, '', { recursive: true })).entries);
      expect(deep).toEqual(['directory:a', 'file:a/b.txt']);
      await expectCode(driver.write('a/.storaged-tmp-x', Buffer.from('x')), 'EINVAL');
    });

    it('concurrent writes racing to create the root and the same new folders all land', async () => {
      for (let round = 0; round < 5; round++) {
        // A root that does not exist yet: the writes race to create it and the folders below.
        const root = join(work, `race-${randomBytes(4).toString('hex')}`);
        const driver = createLocalDriver({ driver: 'local', root }, { diskName: 'race' });
        const keys = Array.from({ length: 50 }, (_, i) => `a/b/file-${i}.txt`);
        await Promise.all(keys.map((key) => writeText(driver, key, key)));
        const listed = (await listAll(driver, 'a/b', { recursive: false })).entries.map((e) => e.path);
        expect(listed.sort()).toEqual([...keys].sort());
      }
    });

    it('creates the root folder on the first write', async () => {
      const root = join(work, `late-${randomBytes(4).toString('hex')}`, 'nested');
      const driver = createLocalDriver({ driver: 'local', root }, { diskName: 'late' });
      expect(await driver.list('', { recursive: true })).toEqual({ entries: [] });
      await expectCode(driver.stat('x.txt'), 'ENOENT');
      await driver.delete('x.txt');
      await writeText(driver, 'x.txt', 'x');
      expect(await readFile(join(root, 'x.txt'), 'utf8')).toBe('x');
    });
  });

  describe('permissions and visibility', () => {
    it('maps visibility to mode bits on files and directories', async () => {
      const { driver, root } = await freshDriver();
      await writeText(driver, 'pub/file.txt', 'p');
      expect((await stat(join(root, 'pub', 'file.txt'))).mode & 0o777).toBe(0o644);
      expect((await stat(join(root, 'pub'))).mode & 0o777).toBe(0o755);
      await writeText(driver, 'priv.txt', 's', { visibility: 'private' });
      expect((await stat(join(root, 'priv.txt'))).mode & 0o777).toBe(0o600);
      await driver.createDirectory('secret-dir', { visibility: 'private' });
      expect((await stat(join(root, 'secret-dir'))).mode & 0o777).toBe(0o700);
      expect(await driver.getVisibility('secret-dir')).toBe('private');
      await driver.setVisibility('priv.txt', 'public');
      expect((await stat(join(root, 'priv.txt'))).mode & 0o777).toBe(0o644);
      expect((await driver.stat('priv.txt')).visibility).toBe('public');
    });

    it('uses config.visibility as the default, and copy/move keep the mode', async () => {
      const { driver, root } = await freshDriver({ visibility: 'private' });
      await writeText(driver, 'a.txt', 'a');
      expect((await stat(join(root, 'a.txt'))).mode & 0o777).toBe(0o600);
      await writeText(driver, 'b.txt', 'b', { visibility: 'public' });
      await driver.copy('b.txt', 'copies/b.txt');
      expect((await stat(join(root, 'copies', 'b.txt'))).mode & 0o777).toBe(0o644);
      await driver.move('a.txt', 'moved/a.txt');
      expect((await stat(join(root, 'moved', 'a.txt'))).mode & 0o777).toBe(0o600);
      expect(await driver.getVisibility('moved/a.txt')).toBe('private');
    });
  });

  describe('files and directories', () => {
    it('answers EISDIR, ENOTDIR and EEXIST where a file or directory is in the way', async () => {
      const { driver } = await freshDriver();
      await writeText(driver, 'd/f.txt', 'f');
      await expectCode(driver.read('d'), 'EISDIR');
      await expectCode(driver.delete('d'), 'EISDIR');
      await expectCode(driver.write('d', Buffer.from('x')), 'EISDIR');
      await expectCode(driver.list('d/f.txt', { recursive: false }), 'ENOTDIR');
      await expectCode(driver.createDirectory('d/f.txt'), 'EEXIST', 'ENOTDIR');
      await expectCode(driver.createDirectory('d/f.txt/sub'), 'ENOTDIR', 'EEXIST');
      await expectCode(driver.write('d/f.txt/sub.txt', Buffer.from('x')), 'ENOTDIR', 'EEXIST');
      await driver.createDirectory('d/empty');
      await driver.createDirectory('d/empty');
      await driver.deleteDirectory('d');
      await driver.deleteDirectory('d');
      await expectCode(driver.stat('d'), 'ENOENT');
    });

    it('the etag changes on overwrite, even with the same size', async () => {
      const { driver } = await freshDriver();
      const first = await driver.write('e.txt', Buffer.from('aaaa'));
      const second = await driver.write('e.txt', Buffer.from('bbbb'));
      expect(first.etag).toBeDefined();
      expect(second.etag).not.toBe(first.etag);
      expect((await driver.stat('e.txt')).etag).toBe(second.etag);
    });

    it('pages a nested recursive listing with a cursor, each entry once, directories before their contents', async () => {
      const { driver } = await freshDriver();
      const files = ['a/x/1.txt', 'a/x/2.txt', 'a/y.txt', 'a-b.txt', 'b/c/d/e.txt', 'b/f.txt', 'z.txt'];
      for (const file of files) await writeText(driver, file, file);
      await driver.createDirectory('empty');
      const expected = (await listAll(driver, '', { recursive: true })).entries.map((e) => e.path);
      for (const pageSize of [1, 2, 3, 5]) {
        const paged = await listAll(driver, '', { recursive: true, pageSize });
        expect(paged.entries.map((e) => e.path)).toEqual(expected);
      }
      expect(expected).toEqual(['a', 'a/x', 'a/x/1.txt', 'a/x/2.txt', 'a/y.txt', 'a-b.txt', 'b', 'b/c', 'b/c/d', 'b/c/d/e.txt', 'b/f.txt', 'empty', 'z.txt']);
      const sub = await listAll(driver, 'b', { recursive: true, pageSize: 1 });
      expect(sub.entries.map((e) => e.path)).toEqual(['b/c', 'b/c/d', 'b/c/d/e.txt', 'b/f.txt']);
      await expectCode(driver.list('a', { recursive: true, cursor: 'not-a-cursor' }), 'EINVAL');
    });
  });

  describe('urls', () => {
    it('builds public URLs from config.url and signs temporary ones with the signing key', async () => {
      const { driver } = await freshDriver({ url: 'https://cdn.example.com/files/', signingKey: 'k'.repeat(32) });
      expect(driver.capabilities.publicUrl).toBe(true);
      expect(driver.capabilities.temporaryUrl).toBe(true);
      expect(driver.url('dir/a b#c.txt')).toBe('https://cdn.example.com/files/dir/a%20b%23c.txt');
      const signed = await driver.temporaryUrl('dir/a.txt', { expiresIn: 60 });
      expect(verifySignedUrl(signed, 'k'.repeat(32), 'GET')).toBe('/files/dir/a.txt');
      const upload = await driver.temporaryUploadUrl('dir/a.txt', { expiresIn: 60 });
      expect(verifySignedUrl(upload, 'k'.repeat(32), 'PUT')).toBe('/files/dir/a.txt');
      await expectCode(driver.temporaryUrl('a.txt', { expiresIn: 0 }), 'EINVAL');

      const relative = (await freshDriver({ url: '/storage' })).driver;
      expect(relative.url('x/y.txt')).toBe('/storage/x/y.txt');
      expect(relative.capabilities.temporaryUrl).toBe(false);
      await expectCode(relative.temporaryUrl('x/y.txt', { expiresIn: 60 }), 'ENOTSUP');
    });

    it('has no URLs without config.url', async () => {
      const { driver } = await freshDriver({ signingKey: 'k'.repeat(32) });
      expect(driver.capabilities.publicUrl).toBe(false);
      expectSyncCode(() => driver.url('a.txt'), 'ENOTSUP');
      await expectCode(driver.temporaryUploadUrl('a.txt', { expiresIn: 60 }), 'ENOTSUP');
    });
  });

  it('reads ranges as streams', async () => {
    const { driver } = await freshDriver();
    await writeText(driver, 'r.txt', '0123456789');
    expect((await collect(await driver.read('r.txt', { range: { offset: 2, length: 3 } }))).toString()).toBe('234');
    expect((await collect(await driver.read('r.txt', { range: { offset: 8 } }))).toString()).toBe('89');
    expect((await collect(await driver.read('r.txt', { range: { offset: 50, length: 3 } }))).length).toBe(0);
  });
});
