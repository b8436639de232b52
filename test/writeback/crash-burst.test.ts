import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/core/config/loader.js';
import { createDriver } from '../../src/drivers/registry.js';
import type { StorageDriver } from '../../src/drivers/types.js';
import { lazyUnmount, startMount, type RunningMount } from '../support/mount.js';
import { S3RVER_KEY, S3RVER_SECRET, startS3rver, type S3rver } from '../support/servers/s3rver.js';

/**
 * Issue 4's first fault: SIGKILL of the mount during a burst of 1,000 small
 * and 5 large writes; a restart resumes the journal and drains it; every file
 * whose close() returned is in the bucket with the right sha256, and nothing
 * else is there.
 */

const SMALL = 1000;
const LARGE = 5;
const LARGE_BYTES = 24 * 2 ** 20; // several multipart parts on s3
const WRITER = join(import.meta.dirname, 'support/burst-writer.mjs');

let s3: S3rver;
let work: string;
let driver: StorageDriver;
let configText: string;

beforeAll(async () => {
  s3 = await startS3rver();
  const bucket = await s3.createBucket();
  work = await mkdtemp(join(tmpdir(), 'storaged-crash-'));
  configText =
    `cache: { dir: ${join(work, 'cache')}, max_size: 2GiB }\n` +
    `write_back: { delay: 1, concurrency: 4 }\n` +
    `disks:\n  s3: { driver: s3, bucket: ${bucket}, endpoint: ${s3.endpoint}, path_style: true, acl: false, key: ${S3RVER_KEY}, secret: ${S3RVER_SECRET}, timeout: 60 }\n`;
  driver = await createDriver(parseConfig(configText, join(work, 'config.yaml'), work, {}).disks.s3!, { diskName: 's3' });
}, 60_000);

afterAll(async () => {
  await driver?.close();
  await s3?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

describe('SIGKILL of the mount during a write burst', () => {
  for (const { seed, killAfter } of [
    { seed: 11, killAfter: 350 },
    { seed: 29, killAfter: 820 },
  ]) {
    it(`keeps every acknowledged file (seed ${seed}, killed after ${killAfter} closes)`, async () => {
      const mountpoint = join(work, `mnt-${seed}`);
      const acked = new Map<string, string>();
      let mount: RunningMount = await startMount({ config: configText, disk: 's3', mountpoint });
      try {
        const root = join(mountpoint, `run-${seed}`);
        await mkdir(join(root, 'small'), { recursive: true });
        await mkdir(join(root, 'large'));
        await runWriterUntil(root, seed, acked, killAfter, () => process.kill(mount.pid, 'SIGKILL'));
        expect(acked.size).toBeGreaterThanOrEqual(killAfter);
        await mount.stop(); // already dead: reaps it and detaches the mount
        await lazyUnmount(mountpoint);

        // The restart resumes the journal; SIGTERM drains it before the process exits.
        mount = await startMount({ config: configText, disk: 's3', mountpoint });
        const exit = await mount.stop(300_000);
        expect(exit, mount.output()).toMatchObject({ code: 0, killed: false });
      } finally {
        await mount.stop();
        await lazyUnmount(mountpoint);
      }

      const keys = await listAll(`run-${seed}`);
      for (const [name, sha] of acked) {
        const key = `run-${seed}/${name}`;
        expect(keys.has(key), `acknowledged ${key} is missing from the bucket`).toBe(true);
        expect(await sha256Of(key), `content of ${key}`).toBe(sha);
      }
      // Nothing but the burst's own names (an unacknowledged file may or may not be there).
      for (const key of keys) expect(key).toMatch(new RegExp(`^run-${seed}/(small/f-\\d{4}|large/big-\\d)\\.bin$`));
    }, 600_000);
  }
});

/** Runs the burst writer; calls `kill` once `killAfter` files were acknowledged, then waits for the writer to end. */
async function runWriterUntil(dir: string, seed: number, acked: Map<string, string>, killAfter: number, kill: () => void): Promise<void> {
  const child = spawn(process.execPath, [WRITER, dir, String(seed), String(SMALL), String(LARGE), String(LARGE_BYTES)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
  let killed = false;
  for await (const line of createInterface({ input: child.stdout! })) {
    const [word, name, sha] = line.split(' ');
    if (word === 'ack' && name !== undefined && sha !== undefined) acked.set(name, sha);
    if (!killed && acked.size >= killAfter) {
      killed = true;
      kill();
    }
  }
  await exited;
  if (!killed) kill();
}

async function listAll(prefix: string): Promise<Set<string>> {
  const keys = new Set<string>();
  let cursor: string | undefined;
  do {
    const page = await driver.list(prefix, { recursive: true, ...(cursor !== undefined ? { cursor } : {}) });
    for (const entry of page.entries) if (entry.type === 'file') keys.add(entry.path);
    cursor = page.cursor;
  } while (cursor !== undefined);
  return keys;
}

async function sha256Of(key: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of await driver.read(key)) hash.update(chunk as Uint8Array);
  return hash.digest('hex');
}
