import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/core/config/loader.js';
import type { DiskStatus } from '../../src/daemon/status.js';
import { createDriver } from '../../src/drivers/registry.js';
import type { StorageDriver } from '../../src/drivers/types.js';
import { lazyUnmount, startMount, storagedFor, type RunningMount } from '../support/mount.js';
import { eicarTestFile, startClamd, type ClamdServer } from '../support/servers/clamd.js';
import { S3RVER_KEY, S3RVER_SECRET, startS3rver, type S3rver } from '../support/servers/s3rver.js';

/**
 * Issue 6 through a real mount on s3rver with a real clamd: a scanned drop
 * folder inside the disk. The daemon sees each close (no polling), holds the
 * upload until the scan passed, quarantines an infected file before it ever
 * reaches the bucket, and keeps a file back (held, retried) while clamd is
 * down, letting it go once clamd answers again. Thumbnails and metadata of
 * an image land on the same disk and in the index.
 */

let s3: S3rver;
let clamd: ClamdServer;
let work: string;
let driver: StorageDriver;
let mount: RunningMount | undefined;
const bucketKeys = async (): Promise<string[]> =>
  (await driver.list('', { recursive: true })).entries.filter((e) => e.type === 'file').map((e) => e.path).sort();

beforeAll(async () => {
  [s3, clamd] = await Promise.all([startS3rver(), startClamd()]);
  const bucket = await s3.createBucket();
  work = await mkdtemp(join(tmpdir(), 'storaged-drop-'));
  const config =
    `cache: { dir: ${join(work, 'cache')}, max_size: 1GiB }\n` +
    `write_back: { delay: 0.2 }\n` +
    `clamd: { host: 127.0.0.1, port: ${clamd.port}, timeout: 10 }\n` +
    `hooks: { retry_delay: 0.2, max_retry_delay: 1 }\n` +
    `disks:\n  s3: { driver: s3, bucket: ${bucket}, endpoint: ${s3.endpoint}, path_style: true, acl: false, key: ${S3RVER_KEY}, secret: ${S3RVER_SECRET} }\n` +
    `watch:\n  inbox:\n    disk: s3\n    path: inbox\n    scan: true\n    quarantine: ${join(work, 'quarantine')}\n    rejected: ${join(work, 'rejected')}\n` +
    `    rules: { max_size: 20MiB }\n` +
    `    hooks: [metadata, { thumbnails: { to: thumbs, sizes: [{ width: 64, height: 64 }] } }]\n`;
  driver = await createDriver(parseConfig(config, join(work, 'config.yaml'), work, {}).disks.s3!, { diskName: 's3' });
  mount = await startMount({ config, disk: 's3', mountpoint: join(work, 'mnt') });
  await mkdir(join(mount.mountpoint, 'inbox'));
}, 120_000);

afterAll(async () => {
  if (mount) {
    await mount.stop();
    await lazyUnmount(mount.mountpoint);
  }
  await driver?.close();
  await Promise.all([s3?.stop(), clamd?.destroy()]);
  if (work) await rm(work, { recursive: true, force: true });
});

async function status(): Promise<DiskStatus> {
  const run = await storagedFor(mount!, ['status', mount!.mountpoint, '--json']);
  if (run.code !== 0) throw new Error(`status failed: ${run.stderr}`);
  return (JSON.parse(run.stdout) as DiskStatus[])[0]!;
}

async function until<T>(what: string, check: () => Promise<T | undefined | false>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${mount?.output() ?? ''}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('a scanned drop folder inside a mounted disk', { timeout: 180_000 }, () => {
  it('quarantines EICAR before it reaches the bucket; a clean image passes, with its thumbnail and metadata', async () => {
    const inbox = join(mount!.mountpoint, 'inbox');
    const photo = await sharp({ create: { width: 320, height: 200, channels: 3, background: '#3366cc' } }).jpeg().toBuffer();
    await writeFile(join(inbox, 'eicar.com'), eicarTestFile());
    await writeFile(join(inbox, 'photo.jpg'), photo);

    await until('the clean photo and its thumbnail in the bucket', async () => {
      const keys = await bucketKeys();
      return keys.includes('inbox/photo.jpg') && keys.includes('thumbs/photo.64x64.webp');
    });
    const quarantined = join(work, 'quarantine', 'eicar.com');
    await until('eicar in quarantine', async () => existsSync(quarantined) && existsSync(`${quarantined}.reason.json`));
    expect(readFileSync(quarantined).equals(eicarTestFile())).toBe(true);
    expect(readFileSync(`${quarantined}.reason.json`, 'utf8')).toMatch(/Test\.EICAR/);
    // Gone from the mount (once the kernel's entry cache, entry_timeout, expires), never in the bucket.
    await until('eicar gone from the mount', async () => !existsSync(join(inbox, 'eicar.com')), 5000);
    const now = await status();
    expect(await bucketKeys()).not.toContain('inbox/eicar.com');
    expect(now.held ?? []).toEqual([]);
    const watch = now.watches?.find((w) => w.watch === 'inbox');
    expect(watch?.counts).toMatchObject({ done: 1, quarantined: 1 });

    const search = await storagedFor(mount!, ['search', 's3', 'type:image/jpeg', '--json']);
    expect(search.code, search.stderr).toBe(0);
    expect((JSON.parse(search.stdout) as { path: string; width?: number }[]).map((r) => [r.path, r.width])).toEqual([['inbox/photo.jpg', 320]]);
  });

  it('holds a file while clamd is down (a scan failure is never a pass) and lets it go once clamd is back', async () => {
    await clamd.stop();
    const inbox = join(mount!.mountpoint, 'inbox');
    await writeFile(join(inbox, 'report.txt'), 'quarterly numbers\n');
    const held = await until('the file held with a failing scan', async () => {
      const now = await status();
      const failing = now.watches?.find((w) => w.watch === 'inbox')?.failing ?? [];
      return (now.held ?? []).includes('inbox/report.txt') && failing.some((job) => job.path === 'report.txt' && job.attempts >= 2) ? now : undefined;
    });
    expect(held.held).toContain('inbox/report.txt');
    expect(await bucketKeys()).not.toContain('inbox/report.txt');

    await clamd.start();
    await until('the file in the bucket after clamd returned', async () => (await bucketKeys()).includes('inbox/report.txt'));
    const after = await status();
    expect(after.held ?? []).toEqual([]);
    expect(after.watches?.find((w) => w.watch === 'inbox')?.counts).toMatchObject({ done: 2, quarantined: 1 });
  });
});
