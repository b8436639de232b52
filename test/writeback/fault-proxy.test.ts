import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, open, readdir, rename, rm, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DiskStatus } from '../../src/daemon/status.js';
import { startFaultProxy, type FaultProxy, type FaultProxyOptions } from '../support/fault-proxy.js';
import { isFuseMounted, lazyUnmount, startMount, storagedFor, type RunningMount } from '../support/mount.js';
import { S3RVER_KEY, S3RVER_SECRET, listBucketKeys, objectSha256, s3rverClient, startS3rver, type S3rver } from '../support/servers/s3rver.js';

/**
 * Issue 4's second fault: a fault-injecting proxy between the mount and
 * s3rver resets connections and answers 500/503 on a share of requests
 * (before forwarding them; in a second run, half of the faults after s3rver
 * has acted, as on a flaky network). Files written, renamed, deleted and
 * overwritten through the mount all arrive intact after `storaged sync`,
 * nothing is duplicated or stale (checked by a client talking to s3rver
 * directly), the retries show in `storaged status`, and the proxy really
 * injected faults.
 */

const MiB = 2 ** 20;
/** The proxy's seed, fault rates and timing ('before': s3rver never sees a failed request; 'any': half the faults strike after it answered). */
type Faults = Required<Pick<FaultProxyOptions, 'seed' | 'resetRate' | 'errorRate' | 'timing'>>;
const SCENARIOS: Faults[] = [
  { seed: 4, resetRate: 0.15, errorRate: 0.15, timing: 'before' },
  { seed: 9, resetRate: 0.15, errorRate: 0.15, timing: 'any' },
];
const SMALL_FILES = 200;
/** 6 MiB and 17 MiB are multipart at the default 5 MiB part size; 17 MiB has four parts. */
const LARGE_SIZES = [3 * MiB, 6 * MiB, 17 * MiB];
/** Longest wait for `storaged sync`: a drain through these faults takes seconds. */
const SYNC_LIMIT_MS = 120_000;

let s3: S3rver;
let direct: S3Client;
let work: string;
const proxies: FaultProxy[] = [];
/** Mounts started by the tests: stopped in afterAll too, so a timed-out test never leaves one under `work`. */
const mounts: RunningMount[] = [];

beforeAll(async () => {
  s3 = await startS3rver();
  direct = s3rverClient(s3.endpoint);
  work = await mkdtemp(join(tmpdir(), 'storaged-faults-'));
}, 60_000);

afterAll(async () => {
  for (const mount of mounts) await mount.stop(5000);
  direct?.destroy();
  for (const proxy of proxies) await proxy.close();
  await s3?.stop();
  // Never recurse into a folder that is still a mount: that would delete through it.
  if (work && !(await anyMounted(mounts))) await rm(work, { recursive: true, force: true });
});

describe('write-back through a fault-injecting proxy', () => {
  it.each(SCENARIOS)('uploads every file intact, nothing duplicated or stale, retries in status (faults $timing forwarding)', async (faults) => {
    const { bucket, proxy, mount, tree } = await faultyMount(`scenario-${faults.timing}`, faults);
    const started = Date.now();
    try {
      // Phase 1: a burst of new files; some renamed or deleted while still pending.
      for (const dir of ['docs/a', 'docs/b', 'docs/c', 'docs/d', 'big', 'old/inner', 'scratch']) await tree.mkdirs(dir);
      for (let i = 0; i < SMALL_FILES; i++) await tree.write(`docs/${'abcd'[i % 4]}/f-${pad(i)}.txt`, smallSize(i));
      for (const [i, size] of LARGE_SIZES.entries()) await tree.write(`big/large-${i}.bin`, size);
      // The same content under several names: the disk may copy it on the server instead of uploading it again.
      const same = randomBytes(LARGE_SIZES[1]!);
      for (let i = 0; i < 3; i++) await tree.write(`big/same-${i}.bin`, same.length, same);
      for (let i = 0; i < 10; i++) await tree.write(`old/${i % 2 === 0 ? 'inner/' : ''}g-${i}.txt`, 1000 + i * 333);
      for (let i = 0; i < 8; i++) await tree.write(`scratch/s-${i}.txt`, 500 + i);
      for (let i = 0; i < 10; i++) await tree.rename(`docs/a/f-${pad(i * 4)}.txt`, `docs/a/renamed-${i}.txt`);
      for (let i = 0; i < 10; i++) await tree.unlink(`docs/b/f-${pad(1 + i * 4)}.txt`);
      await syncThroughCli(mount);
      const afterFirstSync = proxy.counters();

      // Phase 2: changes to objects already in the bucket, plus new files changed while pending.
      for (let i = 0; i < 10; i++) await tree.rename(`docs/c/f-${pad(2 + i * 4)}.txt`, `docs/d/moved-${i}.txt`);
      for (let i = 10; i < 20; i++) await tree.unlink(`docs/a/f-${pad(i * 4)}.txt`);
      for (let i = 20; i < 30; i++) await tree.write(`docs/d/f-${pad(3 + i * 4)}.txt`, 2000 + i); // overwrite
      await tree.rename('big/large-2.bin', 'big/large-2-renamed.bin');
      await tree.renameDir('old', 'new');
      await tree.removeDir('scratch');
      await tree.mkdirs('empty');
      for (let i = 0; i < 20; i++) await tree.write(`late/l-${i}.txt`, 3000 + i * 17);
      for (let i = 0; i < 5; i++) await tree.rename(`late/l-${i}.txt`, `late/l-${i}-renamed.txt`);
      for (let i = 5; i < 10; i++) await tree.unlink(`late/l-${i}.txt`);
      await syncThroughCli(mount);

      const [status] = await statusThroughCli(mount);
      expect(status, mount.output()).toBeDefined();
      expect(status!.totals.retries, 'failed attempts the write-back retried').toBeGreaterThan(0);
      expect(status!.pending).toEqual({ operations: 0, uploads: 0, bytes: 0 });
      expect(status!.inFlight).toEqual([]);
      expect(status!.failing).toEqual([]);

      const counters = proxy.counters();
      expect(counters.resets, 'resets injected').toBeGreaterThan(0);
      expect(counters.errors5xx, '5xx injected').toBeGreaterThan(0);
      if (faults.timing === 'before') expect(counters.lateFaults).toBe(0);
      // A late fault was forwarded first, then counted as a reset or 5xx too.
      expect(counters.requests).toBe(counters.forwarded + counters.resets + counters.errors5xx - counters.lateFaults);
      expect(counters.requests).toBeGreaterThan(afterFirstSync.requests);
      console.log(
        `fault proxy test (${faults.timing}): ${((Date.now() - started) / 1000).toFixed(1)} s; proxy ${JSON.stringify(counters)}; ` +
          `status totals ${JSON.stringify(status!.totals)}, dedup ${JSON.stringify(status!.dedup)}`,
      );
    } finally {
      proxy.setRates({ resetRate: 0, errorRate: 0 });
      await mount.stop();
      await lazyUnmount(mount.mountpoint);
    }
    expect(await mount.stop(), mount.output()).toMatchObject({ code: 0, killed: false });
    await expectBucketToHold(bucket, tree);
  }, 600_000);

  // A directory rename makes lasting progress under sustained faults (each request retries on its own, and a
  // retry of the whole rename goes on where it stopped), even with the SDK's own retries off.
  it('renames a directory of uploaded files under sustained faults without the SDK retrying', async () => {
    const { bucket, proxy, mount, tree } = await faultyMount('rename-dir', { seed: 5, resetRate: 0.15, errorRate: 0.15, timing: 'before' }, 'max_attempts: 1');
    try {
      proxy.setRates({ resetRate: 0, errorRate: 0 });
      for (let i = 0; i < 25; i++) await tree.write(`album/${i % 5 === 0 ? 'raw/' : ''}p-${i}.jpg`, 1000 + i);
      await syncThroughCli(mount);
      proxy.setRates({ resetRate: 0.15, errorRate: 0.15 });
      await tree.renameDir('album', 'album-2024');
      await tree.write('after-the-rename.txt', 100); // waits behind the rename
      await syncThroughCli(mount, 90_000);
    } finally {
      proxy.setRates({ resetRate: 0, errorRate: 0 });
      await mount.stop();
      await lazyUnmount(mount.mountpoint);
    }
    await expectBucketToHold(bucket, tree);
  }, 300_000);
});

/**
 * A fresh bucket, a fault proxy in front of s3rver (faults off until the
 * mount has listed its root: they are set from `faults` just before this
 * returns) and an s3 disk mounted through it; `extraDiskKeys` go into the
 * disk's config.
 */
async function faultyMount(name: string, faults: Faults, extraDiskKeys = '') {
  const bucket = await s3.createBucket();
  const proxy = await startFaultProxy({ targetPort: s3.port, seed: faults.seed, timing: faults.timing });
  proxies.push(proxy);
  const config =
    `cache: { dir: ${join(work, `cache-${name}`)}, max_size: 2GiB }\n` +
    `write_back: { delay: 1, concurrency: 4, max_retry_delay: 4 }\n` +
    `disks:\n  s3: { driver: s3, bucket: ${bucket}, endpoint: ${proxy.endpoint}, path_style: true, acl: false, ` +
    `key: ${S3RVER_KEY}, secret: ${S3RVER_SECRET}, timeout: 30${extraDiskKeys === '' ? '' : `, ${extraDiskKeys}`} }\n`;
  const mount = await startMount({ config, disk: 's3', mountpoint: join(work, `mnt-${name}`) });
  mounts.push(mount);
  expect(await readdir(mount.mountpoint)).toEqual([]);
  proxy.setRates({ resetRate: faults.resetRate, errorRate: faults.errorRate });
  return { bucket, proxy, mount, tree: new Tree(mount.mountpoint) };
}

/** What s3rver holds, read directly: exactly the tree's keys, every file with its content. */
async function expectBucketToHold(bucket: string, tree: Tree): Promise<void> {
  expect((await listBucket(bucket)).sort()).toEqual(tree.expectedKeys());
  for (const [path, sha] of tree.files) expect(await storedSha(bucket, path), `content of ${path}`).toBe(sha);
}

/** The files (path → sha256) and directories the mount should hold, kept beside the real operations on it. */
class Tree {
  readonly files = new Map<string, string>();
  readonly dirs = new Set<string>();
  constructor(private readonly root: string) {}

  async mkdirs(path: string): Promise<void> {
    await mkdir(join(this.root, path), { recursive: true });
    const parts = path.split('/');
    for (let i = 1; i <= parts.length; i++) this.dirs.add(parts.slice(0, i).join('/'));
  }

  /** Writes `size` random bytes (or `content`) in 1 MiB chunks, creating or replacing the file. */
  async write(path: string, size: number, content?: Buffer): Promise<void> {
    const dir = path.split('/').slice(0, -1).join('/');
    if (dir !== '' && !this.dirs.has(dir)) await this.mkdirs(dir);
    const hash = createHash('sha256');
    const handle = await open(join(this.root, path), 'w');
    try {
      for (let done = 0; done < size; done += MiB) {
        const part = content?.subarray(done, done + MiB) ?? randomBytes(Math.min(MiB, size - done));
        await handle.write(part);
        hash.update(part);
      }
    } finally {
      await handle.close();
    }
    this.files.set(path, hash.digest('hex'));
  }

  async rename(from: string, to: string): Promise<void> {
    await rename(join(this.root, from), join(this.root, to));
    this.files.set(to, this.files.get(from)!);
    this.files.delete(from);
  }

  async unlink(path: string): Promise<void> {
    await unlink(join(this.root, path));
    this.files.delete(path);
  }

  async renameDir(from: string, to: string): Promise<void> {
    await rename(join(this.root, from), join(this.root, to));
    const moved = (path: string) => (path === from ? to : path.startsWith(`${from}/`) ? to + path.slice(from.length) : path);
    for (const [path, sha] of [...this.files]) {
      this.files.delete(path);
      this.files.set(moved(path), sha);
    }
    for (const dir of [...this.dirs]) {
      this.dirs.delete(dir);
      this.dirs.add(moved(dir));
    }
  }

  async removeDir(path: string): Promise<void> {
    await rm(join(this.root, path), { recursive: true });
    for (const file of [...this.files.keys()]) if (file.startsWith(`${path}/`)) this.files.delete(file);
    for (const dir of [...this.dirs]) if (dir === path || dir.startsWith(`${path}/`)) this.dirs.delete(dir);
  }

  /** Every file key and every directory marker (`dir/`), sorted. */
  expectedKeys(): string[] {
    return [...this.files.keys(), ...[...this.dirs].map((dir) => `${dir}/`)].sort();
  }
}

/** `storaged sync <mountpoint>`; on failure or timeout, fails with the mount's status and output. */
async function syncThroughCli(mount: RunningMount, limitMs = SYNC_LIMIT_MS): Promise<void> {
  const run = await storagedFor(mount, ['sync', mount.mountpoint], limitMs);
  if (run.code === 0) return;
  const status = await storagedFor(mount, ['status', mount.mountpoint, '--json']);
  expect.fail(`storaged sync exited ${run.code} (null: still waiting after ${limitMs} ms): ${run.stderr}\n--- status:\n${status.stdout}\n--- mount output:\n${mount.output()}`);
}

async function statusThroughCli(mount: RunningMount): Promise<DiskStatus[]> {
  const run = await storagedFor(mount, ['status', mount.mountpoint, '--json']);
  expect(run.code, `storaged status: ${run.stderr}`).toBe(0);
  return JSON.parse(run.stdout) as DiskStatus[];
}

/** Every key in the bucket, from s3rver itself. */
const listBucket = (bucket: string) => listBucketKeys(direct, bucket);
const storedSha = (bucket: string, key: string) => objectSha256(direct, bucket, key);

async function anyMounted(list: RunningMount[]): Promise<boolean> {
  for (const mount of list) if (await isFuseMounted(mount.mountpoint)) return true;
  return false;
}

/** Mostly 1 B..48 KiB; every 10th 64..256 KiB (uploads that go through dedup); a few empty files. */
function smallSize(i: number): number {
  if (i % 50 === 3) return 0;
  if (i % 10 === 7) return 64 * 1024 + ((i * 7919) % (192 * 1024));
  return 1 + ((i * 7919) % (48 * 1024));
}

const pad = (n: number) => String(n).padStart(3, '0');
