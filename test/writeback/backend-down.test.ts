import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, open, readdir, rename, rm, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DiskStatus } from '../../src/daemon/status.js';
import { startFaultProxy, type FaultProxy } from '../support/fault-proxy.js';
import { isFuseMounted, lazyUnmount, startMount, storagedFor, type RunningMount } from '../support/mount.js';
import { S3RVER_KEY, S3RVER_SECRET, listBucketKeys, objectSha256, s3rverClient, startS3rver, type S3rver } from '../support/servers/s3rver.js';

/**
 * Issue 4's third fault: the backend is down for a minute. Writes through the
 * mount keep succeeding at cache speed (every close returns), `storaged
 * status` shows the pending work and the failing operations with their error
 * code; once the backend is back, `storaged sync` drains everything and the
 * bucket (read directly from s3rver) holds exactly the files written.
 */

/** How long the backend stays down while files are written ("a minute" in the issue). */
const OUTAGE_MS = 60_000;
/** Pause between two files, so a minute of writing stays a few hundred files. */
const PAUSE_MS = 40;
/** Every LARGE_EVERY-th file is LARGE_BYTES (a multipart upload); the others 1 B..32 KiB. */
const LARGE_EVERY = 100;
const LARGE_BYTES = 6 * 2 ** 20;
/** A close that takes longer than this fails the test (it should take milliseconds). */
const CLOSE_LIMIT_MS = 30_000;
/** Longest wait for `storaged sync` once the backend is back. */
const SYNC_LIMIT_MS = 240_000;

let s3: S3rver;
let proxy: FaultProxy;
let direct: S3Client;
let bucket: string;
let work: string;
let running: RunningMount | undefined;

beforeAll(async () => {
  s3 = await startS3rver();
  bucket = await s3.createBucket();
  proxy = await startFaultProxy({ targetPort: s3.port });
  direct = s3rverClient(s3.endpoint);
  work = await mkdtemp(join(tmpdir(), 'storaged-down-'));
}, 60_000);

afterAll(async () => {
  await running?.stop(5000); // a test that timed out left it running
  direct?.destroy();
  await proxy?.close();
  await s3?.stop();
  // Never recurse into a folder that is still a mount: that would delete through it.
  if (work && !(running && (await isFuseMounted(running.mountpoint)))) await rm(work, { recursive: true, force: true });
});

describe('the backend down for a minute', () => {
  it('keeps writes succeeding into the cache, then drains when it returns', async () => {
    const config =
      `cache: { dir: ${join(work, 'cache')}, max_size: 2GiB }\n` +
      `write_back: { delay: 1, concurrency: 4, max_retry_delay: 10 }\n` +
      `disks:\n  s3: { driver: s3, bucket: ${bucket}, endpoint: ${proxy.endpoint}, path_style: true, acl: false, key: ${S3RVER_KEY}, secret: ${S3RVER_SECRET}, timeout: 30 }\n`;
    const mountpoint = join(work, 'mnt');
    const mount = await startMount({ config, disk: 's3', mountpoint });
    running = mount;
    const files = new Map<string, string>();
    const dirs = new Set<string>();
    let slowestClose = { ms: 0, path: '' };
    try {
      expect(await readdir(mountpoint)).toEqual([]);
      await proxy.down(); // nothing is in flight: no PUT is cut off (s3rver would keep a truncated object)

      const writeOne = async (path: string, size: number) => {
        const hash = createHash('sha256');
        const handle = await open(join(mountpoint, path), 'w');
        for (let done = 0; done < size; done += 2 ** 20) {
          const part = randomBytes(Math.min(2 ** 20, size - done));
          await handle.write(part);
          hash.update(part);
        }
        const before = performance.now();
        await withinLimit(handle.close(), `close of ${path}`, mount);
        const ms = performance.now() - before;
        if (ms > slowestClose.ms) slowestClose = { ms, path };
        files.set(path, hash.digest('hex'));
      };

      const outageEnds = Date.now() + OUTAGE_MS;
      let midStatus: Promise<DiskStatus[]> | undefined;
      for (let i = 0; Date.now() < outageEnds; i++) {
        const dir = `outage/batch-${Math.floor(i / 100)}`;
        if (i % 100 === 0) {
          await mkdir(join(mountpoint, dir), { recursive: true });
          dirs.add('outage').add(dir);
        }
        const path = `${dir}/f-${i}.bin`;
        await writeOne(path, i % LARGE_EVERY === LARGE_EVERY - 1 ? LARGE_BYTES : 1 + ((i * 7919) % (32 * 1024)));
        // Namespace changes of pending files, too: a rename and an unlink every 50 files.
        if (i % 50 === 10) {
          const to = `${dir}/renamed-${i}.bin`;
          await rename(join(mountpoint, path), join(mountpoint, to));
          files.set(to, files.get(path)!);
          files.delete(path);
        }
        if (i % 50 === 20) {
          await unlink(join(mountpoint, path));
          files.delete(path);
        }
        if (midStatus === undefined && Date.now() > outageEnds - OUTAGE_MS / 2) {
          midStatus = statusThroughCli(mount);
          midStatus.catch(() => undefined); // awaited (and its failure reported) after the writes
        }
        await new Promise((r) => setTimeout(r, PAUSE_MS));
      }
      console.log(`backend down: ${files.size} files written, slowest close ${slowestClose.ms.toFixed(1)} ms (${slowestClose.path})`);

      for (const [when, status] of [
        ['half-way', (await midStatus!)[0]],
        ['at the end', (await statusThroughCli(mount))[0]],
      ] as const) {
        expect(status, `status ${when}`).toBeDefined();
        expect(status!.pending.operations, `pending operations ${when}`).toBeGreaterThan(0);
        expect(status!.pending.uploads, `pending uploads ${when}`).toBeGreaterThan(0);
        expect(status!.failing.length, `failing operations ${when}: ${JSON.stringify(status)}`).toBeGreaterThan(0);
        for (const failure of status!.failing) {
          expect(failure.code, JSON.stringify(failure)).toMatch(/^E[A-Z0-9]+$/);
          expect(failure.attempts).toBeGreaterThan(0);
        }
        expect(status!.totals.retries).toBeGreaterThan(0);
      }
      const atEnd = (await statusThroughCli(mount))[0]!;
      expect(atEnd.pending.uploads, 'every file still pending').toBe(files.size);
      console.log(`status at the end of the outage: pending ${JSON.stringify(atEnd.pending)}, ${atEnd.failing.length} failing, e.g. ${JSON.stringify(atEnd.failing[0])}`);
      expect(await listBucket(), 'nothing reached the bucket while the backend was down').toEqual([]);

      await proxy.up();
      const syncStart = performance.now();
      const sync = await storagedFor(mount, ['sync', mountpoint], SYNC_LIMIT_MS);
      if (sync.code !== 0) {
        const status = await storagedFor(mount, ['status', mountpoint, '--json']);
        expect.fail(`storaged sync exited ${sync.code} (null: still waiting after ${SYNC_LIMIT_MS} ms): ${sync.stderr}\n--- status:\n${status.stdout}\n--- mount output:\n${mount.output()}`);
      }
      console.log(`storaged sync after the outage: ${((performance.now() - syncStart) / 1000).toFixed(1)} s`);

      const [after] = await statusThroughCli(mount);
      expect(after!.pending).toEqual({ operations: 0, uploads: 0, bytes: 0 });
      expect(after!.failing).toEqual([]);
      expect(after!.inFlight).toEqual([]);
    } finally {
      await mount.stop();
      await lazyUnmount(mountpoint);
    }
    expect(await mount.stop(), mount.output()).toMatchObject({ code: 0, killed: false });

    // Exactly the files written (and the directory markers), each with its content.
    const expected = [...files.keys(), ...[...dirs].map((dir) => `${dir}/`)].sort();
    expect((await listBucket()).sort()).toEqual(expected);
    for (const [path, sha] of files) expect(await storedSha(path), `content of ${path}`).toBe(sha);
  }, 600_000);
});

/** `promise`, or a failure naming `what` (with the mount's output) once CLOSE_LIMIT_MS passed. */
async function withinLimit<T>(promise: Promise<T>, what: string, mount: RunningMount): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not return within ${CLOSE_LIMIT_MS} ms:\n${mount.output()}`)), CLOSE_LIMIT_MS);
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

async function statusThroughCli(mount: RunningMount): Promise<DiskStatus[]> {
  const run = await storagedFor(mount, ['status', mount.mountpoint, '--json']);
  expect(run.code, `storaged status: ${run.stderr}`).toBe(0);
  return JSON.parse(run.stdout) as DiskStatus[];
}

/** Every key in the bucket, from s3rver itself. */
const listBucket = () => listBucketKeys(direct, bucket);
const storedSha = (key: string) => objectSha256(direct, bucket, key);
