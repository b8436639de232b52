import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { s3DiskSchema } from '../../../src/core/config/schema.js';
import { createLocalDriver } from '../../../src/drivers/local/index.js';
import { createS3Driver } from '../../../src/drivers/s3/index.js';
import type { StorageDriver } from '../../../src/drivers/types.js';
import { S3RVER_KEY, S3RVER_REGION, S3RVER_SECRET, startS3rver, type S3rver } from '../../support/servers/s3rver.js';
import { Harness, download, expectBytes, patternBytes, upload } from './harness.js';
import { Model, exercise } from './model.js';

const BS = 64 * 1024;
const sha256 = (data: Buffer): string => createHash('sha256').update(data).digest('hex');

interface Backend {
  name: string;
  start(): Promise<StorageDriver>;
  stop(): Promise<void>;
}

let s3rver: S3rver | undefined;
let localRoot: string | undefined;
const backends: Backend[] = [
  {
    name: 'local',
    async start() {
      localRoot = mkdtempSync(join(tmpdir(), 'storaged-content-local-'));
      return createLocalDriver({ driver: 'local', root: localRoot }, { diskName: 'content' });
    },
    async stop() {
      if (localRoot) rmSync(localRoot, { recursive: true, force: true });
    },
  },
  {
    name: 's3 (s3rver)',
    async start() {
      s3rver = await startS3rver();
      const config = s3DiskSchema.parse({
        driver: 's3',
        bucket: await s3rver.createBucket(),
        region: S3RVER_REGION,
        endpoint: s3rver.endpoint,
        path_style: true,
        key: S3RVER_KEY,
        secret: S3RVER_SECRET,
        timeout: 10,
      });
      return createS3Driver(config, { diskName: 'content' }, { acl: false });
    },
    async stop() {
      await s3rver?.stop();
    },
  },
];

for (const backend of backends) {
  describe(`content layer on ${backend.name}`, () => {
    let driver: StorageDriver;
    let h: Harness;

    beforeAll(async () => {
      driver = await backend.start();
      h = new Harness(driver, { blockSize: BS, readAhead: 8 * BS, fetchConcurrency: 4 });
    });
    afterAll(async () => {
      await h?.close();
      await driver?.close();
      await backend.stop();
    });

    it('cold reads fetch ranged blocks, several in parallel when sequential; warm reads touch no driver', async () => {
      const data = patternBytes(20 * BS + 123, 51);
      const source = await upload(driver, 'dir/big.bin', data);
      const content = await h.open('big.bin', { ...source, key: 'dir/big.bin' });
      h.counting.reset();
      const chunk = 32 * 1024;
      for (let offset = 0; offset < data.length; offset += chunk) {
        expectBytes(await content.read(offset, chunk), data.subarray(offset, offset + chunk));
      }
      await h.settled();
      expect(h.counting.reads.every((call) => call.key === 'dir/big.bin' && call.length !== undefined)).toBe(true);
      expect(h.counting.blocksRead(BS).sort((a, b) => a - b)).toEqual([...Array(21).keys()]);
      expect(h.counting.maxInFlight).toBeGreaterThanOrEqual(2);

      h.counting.reset();
      expectBytes(await content.read(0, data.length), data);
      expect(h.counting.reads).toEqual([]);
    });

    it('random writes and appends commit to exactly the model bytes, then read from blocks', async () => {
      const initial = patternBytes(3 * BS + 5, 52);
      const source = await upload(driver, 'edit.bin', initial);
      const content = await h.open('edit.bin', source);
      const model = new Model(Buffer.from(initial));
      await exercise(content, model, 53, 40, BS);
      const committed = await content.commit('edit.bin', { 'storaged-mode': '100600' });
      expect(committed.size).toBe(model.bytes.length);
      expect(committed.contentHash).toBe(sha256(model.bytes));
      const stat = await driver.stat('edit.bin');
      expect(stat.size).toBe(model.bytes.length);
      if (stat.etag !== undefined) expect(committed.etag).toBe(stat.etag);
      if (driver.capabilities.metadata) expect(stat.metadata).toMatchObject({ 'storaged-mode': '100600' });
      expectBytes(await download(driver, 'edit.bin'), model.bytes);

      h.counting.reset();
      expectBytes(await content.read(0, model.bytes.length), model.bytes);
      expect(h.counting.reads).toEqual([]);
      expect(content.isDirty()).toBe(false);
    });
  });
}
