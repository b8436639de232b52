import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createS3Driver } from '../../src/drivers/s3/index.js';
import { Disk } from '../../src/storage/disk.js';
import { StorageManager } from '../../src/storage/manager.js';
import type { StorageEvent } from '../../src/storage/events.js';
import { expectCode } from '../conformance/support.js';
import { S3RVER_KEY, S3RVER_REGION, S3RVER_SECRET, s3rverDiskConfig, startS3rver, type S3rver } from '../support/servers/s3rver.js';

/** One pass of the Disk facade basics on a real S3-compatible server (s3rver ignores ACLs: acl off). */
describe('Disk on s3 (s3rver)', () => {
  let server: S3rver;
  let disk: Disk;
  let bucket: string;
  const events: StorageEvent[] = [];

  beforeAll(async () => {
    server = await startS3rver();
    bucket = await server.createBucket();
    disk = new Disk(createS3Driver(s3rverDiskConfig(server, bucket), { diskName: 's3' }, { acl: false }), { name: 's3' });
    disk.on('*', (event) => void events.push(event));
  });
  afterAll(async () => {
    await disk?.close();
    await server?.stop();
  });

  it('put, get, exists, metadata, checksum', async () => {
    function* lines() {
      for (let i = 0; i < 5000; i++) yield `Line ${i}\n`;
    }
    const expected = [...lines()].join('');
    await disk.writeStream('data/lines.txt', lines());
    await disk.put('data/hello.txt', 'hello', { metadata: { owner: 'ann' } });
    expect(await disk.getText('data/lines.txt')).toBe(expected);
    expect((await disk.get('data/hello.txt')).toString()).toBe('hello');
    expect([await disk.exists('data/hello.txt'), await disk.exists('data'), await disk.exists('nope')]).toEqual([true, true, false]);
    expect([await disk.fileExists('data'), await disk.directoryExists('data')]).toEqual([false, true]);
    expect(await disk.metadata('data/hello.txt')).toMatchObject({ size: 5, mimeType: 'text/plain', metadata: { owner: 'ann' } });
    expect(await disk.checksum('data/hello.txt')).toEqual({ algorithm: 'md5', hex: createHash('md5').update('hello').digest('hex') });
    expect(await disk.checksum('data/hello.txt', { algorithm: 'sha256' })).toEqual({
      algorithm: 'sha256',
      hex: createHash('sha256').update('hello').digest('hex'),
    });
    expect(await disk.orNull().get('nope')).toBeNull();
    await expectCode(disk.get('nope'), 'ENOENT');
  });

  it('copy, move, append, delete and listings', async () => {
    await disk.put('files/a.txt', 'a');
    await disk.copy('files/a.txt', 'files/sub/b.txt');
    await disk.move('files/a.txt', 'files/c.txt');
    await disk.append('files/c.txt', 'more', { separator: '\n' });
    expect(await disk.getText('files/c.txt')).toBe('a\nmore');
    expect((await disk.files('files')).sort()).toEqual(['files/c.txt']);
    expect((await disk.allFiles('files')).sort()).toEqual(['files/c.txt', 'files/sub/b.txt']);
    expect(await disk.directories('files')).toEqual(['files/sub']);
    await disk.delete(['files/c.txt', 'files/sub/b.txt']);
    expect(await disk.allFiles('files')).toEqual([]);
    expect(events.filter((e) => e.type === 'deleted').map((e) => (e as { path: string }).path).sort()).toEqual(['files/c.txt', 'files/sub/b.txt']);
  });

  it('gives a temporary URL s3rver serves, and an upload URL it accepts', async () => {
    await disk.put('urls/doc.txt', 'signed content');
    const response = await fetch(await disk.temporaryUrl('urls/doc.txt', new Date(Date.now() + 60_000)));
    expect(await response.text()).toBe('signed content');
    const upload = await disk.temporaryUploadUrl('urls/up.txt', 60, { mimeType: 'text/plain' });
    expect((await fetch(upload, { method: 'PUT', body: 'uploaded', headers: { 'content-type': 'text/plain' } })).status).toBe(200);
    expect(await disk.getText('urls/up.txt')).toBe('uploaded');
  });

  it('a runtime-configured s3 disk of a StorageManager works the same (camelCase keys)', async () => {
    const manager = new StorageManager({ config: { disks: { mem: { driver: 'memory' } } } });
    const configured = manager.configureDisk('backup', 's3', {
      bucket,
      region: S3RVER_REGION,
      endpoint: server.endpoint,
      pathStyle: true,
      key: S3RVER_KEY,
      secret: S3RVER_SECRET,
      acl: false,
    });
    await configured.put('from-manager.txt', 'via configureDisk');
    expect(await disk.getText('from-manager.txt')).toBe('via configureDisk');
    await manager.close();
  });
});
