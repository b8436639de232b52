import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifySignedUrl } from '../../src/core/signing.js';
import { MemoryDriver } from '../../src/drivers/memory/index.js';
import type { StorageDriver } from '../../src/drivers/types.js';
import * as library from '../../src/index.js';
import { Disk } from '../../src/storage/disk.js';
import { StorageManager } from '../../src/storage/manager.js';
import { expectCode, expectSyncCode } from '../conformance/support.js';

let work: string;
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'storaged-manager-test-'));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

async function configFile(name: string, yaml: string): Promise<string> {
  const file = join(work, name);
  await writeFile(file, yaml);
  return file;
}

describe('StorageManager: disks from config', () => {
  it('reads config.yaml lazily, on first use, and serves the default and named disks', async () => {
    const file = await configFile(
      'two-disks.yaml',
      `default: mem
signing_key: a-signing-key-of-enough-length
disks:
  mem: { driver: memory, url: 'http://127.0.0.1:9/m' }
  files: { driver: local, root: two-disks-root, url: /storage }
`,
    );
    const lazy = new StorageManager({ config: join(work, 'does-not-exist.yaml') });
    expectSyncCode(() => lazy.disk(), 'EINVAL');

    const manager = new StorageManager({ config: file });
    expect(manager.diskNames()).toEqual(['mem', 'files']);
    expect(manager.defaultDiskName()).toBe('mem');
    expect(manager.disk()).toBe(manager.disk('mem'));
    await manager.disk().put('a.txt', 'on mem');
    await manager.disk('files').put('b.txt', 'on files');
    expect(readFileSync(join(work, 'two-disks-root', 'b.txt'), 'utf8')).toBe('on files');
    expect(await manager.disk('files').url('b.txt')).toBe('/storage/b.txt');
    const signed = await manager.disk('mem').temporaryUrl('a.txt', 60);
    expect(verifySignedUrl(signed, 'a-signing-key-of-enough-length')).toBe('/m/a.txt');
    await manager.close();
  });

  it('an unknown disk name is EINVAL', () => {
    const manager = new StorageManager({ config: { disks: { only: { driver: 'memory' } } } });
    const err = expectSyncCode(() => manager.disk('s3'), 'EINVAL');
    expect(err.op).toBe('disk');
  });

  it('useConfig takes a path, an object in config.yaml shape, or a loaded config; bad keys are EINVAL', async () => {
    const manager = new StorageManager({ cwd: work });
    manager.useConfig({ default: 'rel', disks: { rel: { driver: 'local', root: 'object-root' } } });
    await manager.put('x.txt', 'x');
    expect(existsSync(join(work, 'object-root', 'x.txt'))).toBe(true);
    const loaded = manager.config();
    expect(new StorageManager().useConfig(loaded).config()).toBe(loaded);
    expectSyncCode(() => manager.useConfig({ disks: { bad: { driver: 'memory', latency: 5 } } }), 'EINVAL');
    expectSyncCode(() => manager.useConfig({ disks: { bad: { driver: 'lcoal', root: 'x' } } }), 'EINVAL');
    const file = await configFile('switch.yaml', 'disks:\n  other: { driver: memory }\n');
    manager.useConfig(file);
    expect(manager.diskNames()).toEqual(['other']);
    await manager.close();
  });

  it('makes the signing key in cache.dir when the config has none, and signs with it', async () => {
    const file = await configFile('keyless.yaml', `cache: { dir: keyless-cache }\ndisks:\n  m: { driver: memory, url: /files }\n`);
    const manager = new StorageManager({ config: file });
    await manager.put('k.txt', 'k');
    const url = await manager.temporaryUrl('k.txt', 30);
    const key = readFileSync(join(work, 'keyless-cache', 'signing-key'), 'utf8').trim();
    expect(verifySignedUrl(url, key)).toBe('/files/k.txt');
    await manager.close();
  });

  it('offers the Disk methods itself, on the default disk', async () => {
    const manager = new StorageManager({ config: { default: 'b', disks: { a: { driver: 'memory' }, b: { driver: 'memory' } } } });
    await manager.put('dir/file.txt', 'content');
    expect(await manager.getText('dir/file.txt')).toBe('content');
    expect(await manager.exists('dir/file.txt')).toBe(true);
    expect(await manager.disk('b').exists('dir/file.txt')).toBe(true);
    expect(await manager.disk('a').exists('dir/file.txt')).toBe(false);
    expect(await manager.files('dir')).toEqual(['dir/file.txt']);
    await manager.copy('dir/file.txt', 'dir/copy.txt');
    expect((await manager.allFiles()).sort()).toEqual(['dir/copy.txt', 'dir/file.txt']);
    manager.setDefaultDisk('a');
    expect(await manager.exists('dir/file.txt')).toBe(false);
    expectSyncCode(() => manager.setDefaultDisk('zzz'), 'EINVAL');
    expect(await manager.disk('a', { missingAsNull: true }).get('dir/file.txt')).toBeNull();
    const broken = new StorageManager({ config: join(work, 'missing.yaml') });
    await expectCode(broken.put('x', 'y'), 'EINVAL');
    await manager.close();
  });

  it('close() closes every driver; the next disk() builds afresh', async () => {
    const manager = new StorageManager({ config: { disks: { m: { driver: 'memory' } } } });
    const before = manager.disk('m');
    await before.put('gone.txt', 'x');
    const driver = await before.driver();
    await manager.close();
    await expectCode(driver.stat('gone.txt'), 'EIO');
    const after = manager.disk('m');
    expect(after).not.toBe(before);
    expect(await after.exists('gone.txt')).toBe(false);
    await manager.close();
  });

  it('the package entry exports Storage (a StorageManager), Disk and StorageManager', () => {
    expect(library.Storage).toBeInstanceOf(library.StorageManager);
    expect(library.Disk).toBe(Disk);
  });
});

describe('StorageManager: disks at run time', () => {
  it('configureDisk validates and adds a disk (snake_case or camelCase keys)', async () => {
    const manager = new StorageManager({ config: { disks: { base: { driver: 'memory' } } }, cwd: work });
    const backup = manager.configureDisk('backup', 'local', { root: 'runtime-root', visibility: 'private' });
    expect(manager.disk('backup')).toBe(backup);
    await backup.put('r.txt', 'runtime');
    expect(readFileSync(join(work, 'runtime-root', 'r.txt'), 'utf8')).toBe('runtime');
    expect(await backup.getVisibility('r.txt')).toBe('private');
    const slow = manager.configureDisk('slow', { driver: 'memory', latencyMs: 1 });
    await slow.put('s.txt', 's');
    expect(manager.diskNames()).toEqual(['base', 'backup', 'slow']);
    expectSyncCode(() => manager.configureDisk('bad', 'local', {}), 'EINVAL');
    expectSyncCode(() => manager.configureDisk('bad', 's3', { bucket: 'b', bukcet: 'typo' }), 'EINVAL');
    expectSyncCode(() => manager.configureDisk('bad', 'nosuchdriver', {}), 'EINVAL');
    expectSyncCode(() => manager.configureDisk('bad', 'memory', { latency_ms: 1, latencyMs: 2 }), 'EINVAL');
    await manager.close();
  });

  it('configuring a built disk again closes the old driver and replaces it', async () => {
    const manager = new StorageManager({ config: { disks: { base: { driver: 'memory' } } } });
    const first = manager.configureDisk('swap', 'memory');
    await first.put('old.txt', 'old');
    const oldDriver = await first.driver();
    const second = manager.configureDisk('swap', 'memory');
    expect(second).not.toBe(first);
    expect(await second.exists('old.txt')).toBe(false);
    await new Promise((resolve) => setTimeout(resolve, 10));
    await expectCode(oldDriver.stat('old.txt'), 'EIO');
    await manager.close();
  });

  it('build() makes a disk from options or from a driver, outside the config', async () => {
    const manager = new StorageManager({ config: { disks: { base: { driver: 'memory' } } } });
    const fromOptions = manager.build({ driver: 'memory', url: 'http://127.0.0.1:9/b' }, { signingKey: 'build-key' });
    expect(fromOptions.name).toBe('ondemand');
    await fromOptions.put('b.txt', 'built');
    expect(verifySignedUrl(await fromOptions.temporaryUrl('b.txt', 10), 'build-key')).toBe('/b/b.txt');
    expectSyncCode(() => manager.disk('ondemand'), 'EINVAL');
    const driver = new MemoryDriver();
    const fromDriver = manager.build(driver, { name: 'wrapped' });
    await fromDriver.put('w.txt', 'w');
    expect(await driver.stat('w.txt')).toMatchObject({ size: 1 });
    expectSyncCode(() => manager.build({ driver: 'memory', nope: 1 }), 'EINVAL');
    await fromOptions.close();
    await fromDriver.close();
  });
});

describe('StorageManager: extend (custom drivers and decorators)', () => {
  /** A tiny decorator for the test: the inner disk's driver, its name marked. */
  const marked = (inner: StorageDriver, mark: string): StorageDriver =>
    Object.assign(Object.create(inner) as StorageDriver, { name: `${mark}(${inner.name})` });

  it('a registered driver serves config disks, and may wrap another disk through buildDriver', async () => {
    const file = await configFile(
      'custom.yaml',
      `default: wrapped
disks:
  base: { driver: memory }
  wrapped: { driver: marker, disk: base, mark: audited }
`,
    );
    const manager = new StorageManager({ config: file });
    const seen: unknown[] = [];
    manager.extend('marker', async (config, context) => {
      seen.push({ config, diskName: context.diskName });
      return marked(await context.buildDriver(String(config.disk)), String(config.mark));
    });
    const wrapped = manager.disk('wrapped');
    await wrapped.put('w.txt', 'through the wrapper');
    expect((await wrapped.driver()).name).toBe('audited(memory)');
    expect(seen).toEqual([{ config: { driver: 'marker', disk: 'base', mark: 'audited' }, diskName: 'wrapped' }]);
    // The inner driver is the decorator's own instance, not the 'base' disk's.
    expect(await manager.disk('base').exists('w.txt')).toBe(false);
    await manager.close();
  });

  it('refuses a disk that wraps itself, and a config naming an unregistered driver', async () => {
    const cyclic = new StorageManager({ config: { disks: { a: { driver: 'alias', disk: 'b' }, b: { driver: 'alias', disk: 'a' } } } });
    expectSyncCode(() => cyclic.disk('a'), 'EINVAL');
    cyclic.extend('alias', (config, context) => context.buildDriver(String(config.disk)));
    await expectCode(cyclic.disk('a').exists('x'), 'EINVAL');
    const runtime = cyclic.configureDisk('alias-of-a', { driver: 'alias', disk: 'a' });
    await expectCode(runtime.exists('x'), 'EINVAL');
    await cyclic.close();
  });
});
