import { createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AzureDiskConfig } from '../../src/core/config/schema.js';
import { createAzureDriver } from '../../src/drivers/azure/index.js';
import { decodeMetadata, encodeMetadata } from '../../src/drivers/azure/metadata.js';
import type { StorageDriver } from '../../src/drivers/types.js';
import { describeConformance } from '../conformance/index.js';
import { expectCode, expectSyncCode, readText, seededBytes, streamOf, writeText } from '../conformance/support.js';
import { freePort } from '../support/process.js';
import { AZURITE_ACCOUNT, AZURITE_KEY, startAzurite, type Azurite } from '../support/servers/azurite.js';

let conformanceServer: Azurite | undefined;

describeConformance({
  name: 'azure (azurite)',
  async start() {
    conformanceServer = await startAzurite();
  },
  async stop() {
    await conformanceServer?.stop();
  },
  async createDriver() {
    const server = need(conformanceServer);
    // Anonymous blob reads on, so the public URL case can run (Azure's public access is per container).
    const container = await server.createContainer('blob');
    const driver = createAzureDriver({ driver: 'azure', container, connection_string: server.connectionString, timeout: 5 }, { diskName: 'conformance' });
    // Azurite checks anonymous access before a SAS, so on this public container it serves an expired or
    // tampered SAS URL anyway (real Azure refuses them). The expiry and tamper cases therefore run in the
    // specifics below, on a private container, and are skipped here.
    driver.capabilities.temporaryUrlExpiryEnforced = false;
    driver.capabilities.temporaryUrlSignatureEnforced = false;
    return driver;
  },
  async interrupt() {
    return need(conformanceServer).interrupt();
  },
});

describe('azure driver specifics', () => {
  let server: Azurite;
  beforeAll(async () => {
    server = await startAzurite();
  });
  afterAll(async () => {
    await server?.stop();
  });

  async function freshDriver(extra: Partial<AzureDiskConfig> = {}): Promise<{ driver: StorageDriver; container: string }> {
    const container = await server.createContainer();
    const config: AzureDiskConfig = { driver: 'azure', container, account_name: AZURITE_ACCOUNT, account_key: AZURITE_KEY, endpoint: server.endpoint, ...extra };
    return { driver: createAzureDriver(config, { diskName: 'specifics' }), container };
  }

  describe('config', () => {
    it('rejects a disk without credentials with EINVAL naming the disk and the keys', () => {
      const err = expectSyncCode(() => createAzureDriver({ driver: 'azure', container: 'box' }, { diskName: 'photos' }), 'EINVAL');
      expect(err.message).toContain("'photos'");
      expect(err.message).toContain('account_key');
      expect(err.message).toContain('connection_string');
    });

    it('rejects an account key without an account name, and mixed auth', () => {
      expectSyncCode(() => createAzureDriver({ driver: 'azure', container: 'box', account_key: AZURITE_KEY }, { diskName: 'd' }), 'EINVAL');
      expectSyncCode(
        () => createAzureDriver({ driver: 'azure', container: 'box', connection_string: server.connectionString, account_key: AZURITE_KEY }, { diskName: 'd' }),
        'EINVAL',
      );
      expectSyncCode(() => createAzureDriver({ driver: 'azure', container: 'box', connection_string: 'not a connection string' }, { diskName: 'd' }), 'EINVAL');
      for (const container of ['ab', 'Upper', 'two--hyphens', '-lead', 'a'.repeat(64)]) {
        expectSyncCode(() => createAzureDriver({ driver: 'azure', container, connection_string: server.connectionString }, { diskName: 'd' }), 'EINVAL');
      }
    });

    it('defaults the endpoint to the account host', () => {
      const driver = createAzureDriver({ driver: 'azure', container: 'box', account_name: 'acme', account_key: AZURITE_KEY }, { diskName: 'd' });
      expect(driver.url('a b.txt')).toBe('https://acme.blob.core.windows.net/box/a%20b.txt');
    });
  });

  describe('access tiers', () => {
    it('writes new blobs with the configured tier (Cool), directory markers on the default', async () => {
      const { driver, container } = await freshDriver({ tier: 'Cool' });
      await writeText(driver, 'docs/cool.txt', 'chilly');
      await driver.createDirectory('empty');
      const blobs = server.service.getContainerClient(container);
      const file = await blobs.getBlobClient('docs/cool.txt').getProperties();
      expect(file.accessTier).toBe('Cool');
      expect(file.accessTierInferred).not.toBe(true);
      expect((await blobs.getBlobClient('empty/').getProperties()).accessTierInferred).toBe(true);
      expect(await readText(driver, 'docs/cool.txt')).toBe('chilly');
    });

    it('writes Hot when configured, and a copy keeps the source tier', async () => {
      const { driver, container } = await freshDriver({ tier: 'Hot' });
      await writeText(driver, 'hot.txt', 'warm');
      const blobs = server.service.getContainerClient(container);
      expect((await blobs.getBlobClient('hot.txt').getProperties()).accessTier).toBe('Hot');
      await blobs.getBlobClient('hot.txt').setAccessTier('Cool');
      await driver.copy('hot.txt', 'copied.txt');
      const copied = await blobs.getBlobClient('copied.txt').getProperties();
      expect(copied.accessTier).toBe('Cool');
      expect(copied.contentType).toBe('text/plain');
      expect(await readText(driver, 'copied.txt')).toBe('warm');
    });

    it('reading an archived blob fails with EACCES; stat still works', async () => {
      const { driver, container } = await freshDriver();
      await writeText(driver, 'old/report.txt', 'cold storage');
      await server.service.getContainerClient(container).getBlobClient('old/report.txt').setAccessTier('Archive');
      const err = await expectCode(driver.read('old/report.txt'), 'EACCES');
      expect(err.message).toContain('archived');
      expect((await driver.stat('old/report.txt')).size).toBe(12);
    });
  });

  describe('uploads', () => {
    it('stages a multi-block body atomically and stores its MD5', async () => {
      const { driver, container } = await freshDriver();
      const parts = [seededBytes(3 * 1024 * 1024, 1), seededBytes(3 * 1024 * 1024, 2), seededBytes(5 * 1024 * 1024 + 7, 3)];
      const result = await driver.write('big.bin', streamOf(...parts));
      expect(result.size).toBe(11 * 1024 * 1024 + 7);
      const blob = server.service.getContainerClient(container).getBlockBlobClient('big.bin');
      const blocks = await blob.getBlockList('committed');
      expect(blocks.committedBlocks?.length).toBe(3); // 4 MiB + 4 MiB + 3 MiB + 7
      const { createHash } = await import('node:crypto');
      const md5 = createHash('md5');
      for (const part of parts) md5.update(part);
      expect(await driver.checksum('big.bin')).toEqual({ algorithm: 'md5', hex: md5.digest('hex') });
    });

    it('round-trips metadata keys Azure would reject, encoding them reversibly', async () => {
      const { driver, container } = await freshDriver();
      const metadata = { 'content-id': 'a-b', 'x y': ' padded ', Émoji: '☃ snow', sdx_trap: '=?utf-8?b?AA==?=', plain_key: 'v', empty: '' };
      await writeText(driver, 'meta.txt', 'm', { metadata });
      const stat = await driver.stat('meta.txt');
      expect(stat.metadata).toEqual({ 'content-id': 'a-b', 'x y': ' padded ', émoji: '☃ snow', sdx_trap: '=?utf-8?b?AA==?=', plain_key: 'v', empty: '' });
      const raw = (await server.service.getContainerClient(container).getBlobClient('meta.txt').getProperties()).metadata ?? {};
      for (const name of Object.keys(raw)) expect(name).toMatch(/^[a-z_][a-z0-9_]*$/);
      expect(raw.plain_key).toBe('v');
    });

    it('metadata encoding is its own inverse', () => {
      const original = { 'a.b': 'x', '9lives': 'y\nz', sdx_41: 'q' };
      expect(decodeMetadata(encodeMetadata(original, 'k'))).toEqual(original);
      expectSyncCode(() => encodeMetadata({ '': 'v' }, 'k'), 'EINVAL');
    });
  });

  describe('SAS URLs', () => {
    it('a PUT SAS URL accepts an upload with x-ms-blob-type: BlockBlob', async () => {
      const { driver } = await freshDriver();
      const url = await driver.temporaryUploadUrl('incoming/upload.txt', { expiresIn: 60 });
      const res = await fetch(url, { method: 'PUT', body: 'sent by a browser', headers: { 'x-ms-blob-type': 'BlockBlob', 'content-type': 'text/plain' } });
      expect(res.status).toBe(201);
      expect(await readText(driver, 'incoming/upload.txt')).toBe('sent by a browser');
      const refused = await fetch(url.replace(/sig=[^&]+/, 'sig=AAAA'), { method: 'PUT', body: 'x', headers: { 'x-ms-blob-type': 'BlockBlob' } });
      expect(refused.status).toBe(403);
    });

    it('a GET SAS URL on a private container serves the bytes, is refused when tampered, and once expired', async () => {
      const { driver } = await freshDriver();
      await writeText(driver, 'private.txt', 'for your eyes');
      await writeText(driver, 'other.txt', 'not yours');
      expect((await fetch(driver.url('private.txt'))).status).toBe(403); // no anonymous access here
      const url = await driver.temporaryUrl('private.txt', { expiresIn: 1 });
      const ok = await fetch(url);
      expect(ok.status).toBe(200);
      expect(await ok.text()).toBe('for your eyes');
      const sig = new URL(url).searchParams.get('sig') ?? '';
      const forged = new URL(url);
      forged.searchParams.set('sig', (sig.startsWith('A') ? 'B' : 'A') + sig.slice(1));
      expect((await fetch(forged)).status).toBe(403);
      expect((await fetch(url.replace('private.txt', 'other.txt'))).status).toBe(403);
      await new Promise((r) => setTimeout(r, 2500)); // expiry is rounded up to a whole second
      expect((await fetch(url)).status).toBe(403);
    });

    it('a disk authenticated by a SAS token works but cannot sign URLs', async () => {
      const { driver: owner, container } = await freshDriver();
      await writeText(owner, 'shared.txt', 'via sas');
      const { generateAccountSASQueryParameters, AccountSASPermissions, AccountSASResourceTypes, AccountSASServices, StorageSharedKeyCredential } =
        await import('@azure/storage-blob');
      const sas = generateAccountSASQueryParameters(
        {
          expiresOn: new Date(Date.now() + 3600_000),
          permissions: AccountSASPermissions.parse('rwdlc'),
          resourceTypes: AccountSASResourceTypes.parse('sco').toString(),
          services: AccountSASServices.parse('b').toString(),
        },
        new StorageSharedKeyCredential(AZURITE_ACCOUNT, AZURITE_KEY),
      ).toString();
      const driver = createAzureDriver({ driver: 'azure', container, sas_token: sas, endpoint: server.endpoint }, { diskName: 'sas' });
      expect(await readText(driver, 'shared.txt')).toBe('via sas');
      await writeText(driver, 'dir/written.txt', 'by sas');
      expect((await driver.list('dir', { recursive: false })).entries.map((e) => e.path)).toEqual(['dir/written.txt']);
      await driver.copy('dir/written.txt', 'dir/copy.txt');
      expect(await readText(owner, 'dir/copy.txt')).toBe('by sas');
      expect(driver.url('shared.txt')).not.toContain('sig=');
      expect(driver.capabilities.temporaryUrl).toBe(false);
      await expectCode(driver.temporaryUrl('shared.txt', { expiresIn: 60 }), 'ENOTSUP');
    });
  });

  describe('failures', () => {
    it('a wrong account key gives EACCES', async () => {
      const { driver: good } = await freshDriver();
      await writeText(good, 'file.txt', 'x');
      const { container } = await freshDriver();
      const wrongKey = Buffer.from('not the key'.padEnd(64, '!')).toString('base64');
      const driver = createAzureDriver(
        { driver: 'azure', container, account_name: AZURITE_ACCOUNT, account_key: wrongKey, endpoint: server.endpoint },
        { diskName: 'wrong' },
      );
      await expectCode(driver.stat('file.txt'), 'EACCES');
      await expectCode(driver.write('new.txt', Buffer.from('x')), 'EACCES');
      await expectCode(driver.list('', { recursive: false }), 'EACCES');
    });

    it('a missing container is ENOENT naming the container', async () => {
      const driver = createAzureDriver(
        { driver: 'azure', container: 'no-such-container', connection_string: server.connectionString },
        { diskName: 'missing' },
      );
      const err = await expectCode(driver.write('a.txt', Buffer.from('x')), 'ENOENT');
      expect(err.message).toContain('no-such-container');
    });

    it('a wrong endpoint fails fast with ECONNREFUSED', async () => {
      const port = await freePort(); // nothing listens here
      const driver = createAzureDriver(
        { driver: 'azure', container: 'box', account_name: AZURITE_ACCOUNT, account_key: AZURITE_KEY, endpoint: `http://127.0.0.1:${port}/${AZURITE_ACCOUNT}` },
        { diskName: 'nowhere' },
      );
      const started = Date.now();
      await expectCode(driver.stat('a.txt'), 'ECONNREFUSED');
      await expectCode(driver.write('a.txt', Buffer.from('x')), 'ECONNREFUSED');
      expect(Date.now() - started).toBeLessThan(3000);
    });

    it('a server that never answers gives ETIMEDOUT after config.timeout', async () => {
      const sockets = new Set<Socket>();
      const silent: Server = createServer((socket) => {
        sockets.add(socket); // accept, then say nothing
      });
      const port = await freePort();
      await new Promise<void>((resolve) => silent.listen(port, '127.0.0.1', resolve));
      try {
        const driver = createAzureDriver(
          { driver: 'azure', container: 'box', connection_string: server.connectionString.replace(String(server.port), String(port)), timeout: 1 },
          { diskName: 'silent' },
        );
        const started = Date.now();
        await expectCode(driver.stat('a.txt'), 'ETIMEDOUT');
        expect(Date.now() - started).toBeLessThan(5000);
      } finally {
        for (const socket of sockets) socket.destroy();
        await new Promise<void>((resolve) => silent.close(() => resolve()));
      }
    });
  });
});

function need<T>(value: T | undefined): T {
  if (value === undefined) throw new Error('azurite is not running');
  return value;
}
