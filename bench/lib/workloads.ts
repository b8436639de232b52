import { rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { PhaseName } from './args.js';
import { record, type ToolContext } from './context.js';
import { deletePrefix, hashObject, waitForCount, waitForObject } from './s3.js';
import { dropCaches, run } from './proc.js';
import { currentRssKiB, sampleRss } from './rss.js';
import type { Mounted } from './mounts.js';
import type { MountOptions } from './targets/types.js';

const CHILDREN = resolve(import.meta.dirname, '../children');
/** Longest wait for written files to show up in the bucket. */
export const UPLOAD_TIMEOUT_MS = 600_000;
const MB = 1e6;

/** Runs a bench child script (TypeScript, through tsx) and parses the JSON line it prints. */
export async function child<T>(script: string, args: string[]): Promise<T> {
  const { stdout } = await run(process.execPath, ['--import', 'tsx', join(CHILDREN, script), ...args], { captureStdout: true, timeoutMs: 1_800_000 });
  return JSON.parse(stdout.trim().split('\n').pop() ?? '') as T;
}

/** Mounts (freshCache, or the options in full), runs `body`, and always unmounts (stopping the serving process by pid). */
export async function withMount<T>(ctx: ToolContext, volume: string, options: boolean | MountOptions, body: (m: Mounted) => Promise<T>): Promise<T> {
  const mounted = await ctx.target.mount(volume, typeof options === 'boolean' ? { freshCache: options } : options);
  try {
    return await body(mounted);
  } finally {
    await mounted.unmount();
  }
}

/** `ls -l DIR`, timed; checks that it printed `expected` entries. */
async function timedList(dir: string, expected: number): Promise<number> {
  const { ms, stdout } = await run('ls', ['-l', dir], { captureStdout: true, timeoutMs: 600_000 });
  const entries = stdout.split('\n').filter((line) => line && !line.startsWith('total ')).length;
  if (entries !== expected) throw new Error(`ls -l ${dir} listed ${entries} entries, expected ${expected}`);
  return ms;
}

/** dd of a file to /dev/null after dropping the page cache; returns MB/s. */
async function timedRead(file: string, size: number): Promise<number> {
  await dropCaches();
  const { ms } = await run('dd', [`if=${file}`, 'of=/dev/null', 'bs=1M', 'status=none'], { timeoutMs: 1_800_000 });
  return size / MB / (ms / 1000);
}

/**
 * Phase 1 on one mount: `runs` sequential writes of the source file with dd
 * (close included; then, on buckets, until the object is there), the same
 * files read back with the page cache dropped, sha256 checked through the
 * mount and in the bucket, then `runs` folders of small files created by
 * one child process each and listed with `ls -l`. Each part runs only when
 * its phase (write, read, create, ls) is in options.phases.
 */
export async function writeReadCreate(ctx: ToolContext): Promise<void> {
  const { options, source, client } = ctx;
  const runs = (phase: PhaseName) => (options.phases.includes(phase) ? options.runs : 0);
  await withMount(ctx, ctx.workVolume, true, async (m) => {
    if (m.pid !== null) record(ctx, 'idleRssMiB', (await currentRssKiB(m.pid)) / 1024);
    for (let i = 1; i <= runs('write'); i++) {
      await run('cat', [source.path], { timeoutMs: 600_000 }); // source in the page cache: measure the mount, not the source disk
      const started = performance.now();
      const { ms } = await run('dd', [`if=${source.path}`, `of=${join(m.root, `seq-${i}.bin`)}`, 'bs=1M', 'status=none'], { timeoutMs: 1_800_000 });
      record(ctx, 'seqWriteMBps', source.size / MB / (ms / 1000));
      if (client) {
        await waitForObject(client, ctx.workVolume, `seq-${i}.bin`, source.size, UPLOAD_TIMEOUT_MS);
        record(ctx, 'seqWriteUploadedMBps', source.size / MB / ((performance.now() - started) / 1000));
      }
      ctx.log(`write ${i}: ${(source.size / MB / (ms / 1000)).toFixed(1)} MB/s`);
    }
    for (let i = 1; i <= runs('read'); i++) {
      record(ctx, 'seqReadMBps', await timedRead(join(m.root, `seq-${i}.bin`), source.size));
    }
    if (runs('write') > 0) await checkWritten(ctx, m);
    for (let i = 1; i <= runs('create'); i++) {
      const folder = join(m.root, `files-${i}`);
      const { ms, startedAt } = await child<{ ms: number; startedAt: number }>('create-files.ts', [folder, String(options.files), String(options.fileSize)]);
      record(ctx, 'createFilesPerSec', options.files / (ms / 1000));
      if (client) {
        await waitForCount(client, ctx.workVolume, `files-${i}/`, options.files, UPLOAD_TIMEOUT_MS);
        record(ctx, 'createUploadedFilesPerSec', options.files / ((Date.now() - startedAt) / 1000));
      }
      if (runs('ls') > 0) record(ctx, 'list500Ms', await timedList(folder, options.files));
      ctx.log(`create ${i}: ${(options.files / (ms / 1000)).toFixed(0)} files/s`);
    }
  });
}

/** sha256 of seq-1.bin read through the mount (page cache dropped) and, on buckets, of the uploaded object. */
async function checkWritten(ctx: ToolContext, m: Mounted): Promise<void> {
  const { source, client } = ctx;
  await dropCaches();
  const { stdout } = await run('sha256sum', [join(m.root, 'seq-1.bin')], { captureStdout: true, timeoutMs: 1_800_000 });
  if (!stdout.startsWith(source.sha256)) throw new Error(`seq-1.bin read back through the mount has sha256 ${stdout.slice(0, 64)}, expected ${source.sha256}`);
  ctx.result.checks.push('sha256 of the written file, read back through the mount');
  if (client) {
    const inBucket = await hashObject(client, ctx.workVolume, 'seq-1.bin');
    if (inBucket !== source.sha256) throw new Error(`seq-1.bin in the bucket has sha256 ${inBucket}, expected ${source.sha256}`);
    ctx.result.checks.push('sha256 of the uploaded object in the bucket');
  }
}

/** Phase 2: each written file read once after a remount with an empty cache (the local baseline: page cache dropped). */
export async function coldRead(ctx: ToolContext): Promise<void> {
  await withMount(ctx, ctx.workVolume, true, async (m) => {
    for (let i = 1; i <= ctx.options.runs; i++) {
      record(ctx, 'seqReadColdMBps', await timedRead(join(m.root, `seq-${i}.bin`), ctx.source.size));
    }
  });
}

/** Empties the tool's work volume (frees disk between phases). */
export async function emptyWorkVolume(ctx: ToolContext): Promise<void> {
  if (ctx.client) await deletePrefix(ctx.client, ctx.workVolume, '');
  else {
    const m = await ctx.target.mount(ctx.workVolume, { freshCache: false });
    await rm(m.root, { recursive: true, force: true });
  }
}

/**
 * Phase 3: `ls -l` of the folder of options.entries objects that were put
 * straight into the bucket: on a fresh mount with an empty cache, then after
 * a remount that keeps the cache (storaged answers from its persisted index).
 * The local baseline drops the kernel caches instead of remounting.
 */
export async function bigListing(ctx: ToolContext): Promise<void> {
  for (let i = 1; i <= ctx.options.runs; i++) {
    for (const [key, fresh] of [['list10kColdMs', true], ['list10kRemountMs', false]] as const) {
      await withMount(ctx, ctx.listVolume, fresh, async (m) => {
        if (!ctx.client) await dropCaches();
        record(ctx, key, await timedList(join(m.root, 'many'), ctx.options.entries));
      });
    }
  }
}

/**
 * Phase 4: a big file (options.streamSize) written through a fresh mount by
 * a child process, read back with the page cache dropped, and (on buckets)
 * waited for until it is uploaded, while the serving process tree's memory
 * is sampled every 100 ms.
 */
export async function streamMemory(ctx: ToolContext): Promise<void> {
  const size = ctx.options.streamSize;
  try {
    await withMount(ctx, ctx.workVolume, true, async (m) => {
      const sampler = m.pid === null ? null : sampleRss(m.pid);
      try {
        const file = join(m.root, 'stream.bin');
        const { ms } = await child<{ ms: number }>('stream-write.ts', [file, String(size)]);
        record(ctx, 'streamWriteMBps', size / MB / (ms / 1000));
        if (ctx.client) await waitForObject(ctx.client, ctx.workVolume, 'stream.bin', size, UPLOAD_TIMEOUT_MS);
        record(ctx, 'streamReadMBps', await timedRead(file, size));
      } finally {
        const memory = await sampler?.stop();
        if (memory) {
          record(ctx, 'streamPeakRssMiB', memory.peakKiB / 1024);
          ctx.log(`stream: peak RSS ${(memory.peakKiB / 1024).toFixed(0)} MiB (VmHWM ${(memory.hwmKiB / 1024).toFixed(0)} MiB, ${memory.samples} samples)`);
        }
      }
    });
  } finally {
    await emptyWorkVolume(ctx);
  }
}
