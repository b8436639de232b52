import { join } from 'node:path';
import { record, type ToolContext } from './context.js';
import { median as medianOf, percentile, type MetricKey } from './metrics.js';
import type { DiskStatus } from '../../src/daemon/status.js';
import type { Mounted } from './mounts.js';
import { run, sleep } from './proc.js';
import { startBenchProxy } from './proxy.js';
import { deletePrefix, hashObject, waitForCount, waitForObject } from './s3.js';
import { child, UPLOAD_TIMEOUT_MS, withMount } from './workloads.js';

/** The write-back workloads of issue 4 (see bench/README.md), with their fixed sizes. */
export const WRITEBACK_WORKLOAD = {
  /** How many times the dedup workload writes the source file (under new names). */
  copies: 10,
  /** Files written (one process, one after the other) per mount by the latency workload. */
  latencyFiles: 100,
  /** Bytes of each of them. */
  latencyFileSize: 256 * 1024,
  /** The slow backend: a wait before every request is forwarded, ms. */
  slowDelayMs: 200,
  /** The slow backend: body throughput per direction, bytes per second. */
  slowBytesPerSecond: 20e6,
} as const;

const MiB = 2 ** 20;

/** The TCP port of an http://127.0.0.1:PORT endpoint. */
function portOf(endpoint: string): number {
  const port = Number(new URL(endpoint).port);
  if (!Number.isInteger(port) || port <= 0) throw new Error(`no port in the endpoint ${endpoint}`);
  return port;
}

/** Bytes a folder takes (`du -sb`: apparent sizes, sparse files counted in full). */
async function folderBytes(dir: string): Promise<number> {
  const { stdout } = await run('du', ['-sb', dir], { captureStdout: true, timeoutMs: 300_000 });
  const bytes = Number(stdout.split(/\s/)[0]);
  if (!Number.isFinite(bytes)) throw new Error(`du -sb ${dir} printed '${stdout.trim()}'`);
  return bytes;
}

/** How long a mount may take to settle after its objects are all in the bucket. */
const SETTLE_TIMEOUT_MS = 60_000;

/**
 * storaged's status once nothing is pending or in flight any more (the
 * objects are in the bucket, but its journal may finish a moment later);
 * throws when it does not settle within SETTLE_TIMEOUT_MS.
 */
async function settledStatus(m: Mounted): Promise<DiskStatus> {
  const deadline = Date.now() + SETTLE_TIMEOUT_MS;
  for (;;) {
    const [disk] = await m.status!();
    if (!disk) throw new Error(`storaged status --json of ${m.root} listed no disk`);
    if (disk.pending.operations === 0 && disk.inFlight.length === 0) return disk;
    if (Date.now() > deadline) throw new Error(`${m.root}: ${disk.pending.operations} operations still pending ${SETTLE_TIMEOUT_MS} ms after all objects were in the bucket`);
    await sleep(200);
  }
}

/**
 * Deduplication: on a fresh mount whose S3 traffic goes through a counting
 * proxy, `dd` writes the source file `copies` times under new names
 * (dedup-N.bin, one after the other, closes included), then the bench polls
 * HeadObject until all are in the bucket. Records the write time, the time
 * until all are uploaded, the cache folder's size then (storaged: once its
 * status shows nothing pending or in flight), storaged's own dedup counters
 * (`storaged status --json`), and the request body bytes
 * the tool sent (counted after the unmount, so nothing sent late is missed).
 * The last copy's sha256 in the bucket is checked. The copies are deleted
 * afterwards. Skipped on the local baseline.
 */
export async function dedupWrites(ctx: ToolContext): Promise<void> {
  const { client, endpoint, source } = ctx;
  if (!client || !endpoint) return ctx.log('dedup: no bucket, skipped');
  const names = Array.from({ length: WRITEBACK_WORKLOAD.copies }, (_, i) => `dedup-${i + 1}.bin`);
  const proxy = await startBenchProxy({ targetPort: portOf(endpoint) });
  try {
    await withMount(ctx, ctx.workVolume, { freshCache: true, endpoint: proxy.endpoint }, async (m) => {
      await run('cat', [source.path], { timeoutMs: 600_000 }); // source in the page cache
      const started = performance.now();
      let writeMs = 0;
      for (const name of names) {
        writeMs += (await run('dd', [`if=${source.path}`, `of=${join(m.root, name)}`, 'bs=1M', 'status=none'], { timeoutMs: 1_800_000 })).ms;
      }
      record(ctx, 'dedupWriteS', writeMs / 1000);
      for (const name of names) await waitForObject(client, ctx.workVolume, name, source.size, UPLOAD_TIMEOUT_MS);
      const uploadedMs = performance.now() - started;
      record(ctx, 'dedupUploadedS', uploadedMs / 1000);
      ctx.log(`dedup: ${names.length} writes in ${(writeMs / 1000).toFixed(1)} s, all in the bucket after ${(uploadedMs / 1000).toFixed(1)} s`);
      const disk = m.status ? await settledStatus(m) : undefined;
      if (m.cacheDir) record(ctx, 'dedupCacheMiB', (await folderBytes(m.cacheDir)) / MiB);
      if (disk) {
        record(ctx, 'dedupCopiedFiles', disk.dedup.files);
        record(ctx, 'dedupSavedMiB', disk.dedup.bytesSaved / MiB);
      }
    });
    const sent = proxy.counters();
    record(ctx, 'dedupUploadMiB', sent.uploadedBytes / MiB);
    ctx.log(`dedup: ${(sent.uploadedBytes / MiB).toFixed(0)} MiB uploaded in ${sent.requests} requests, ${sent.copies} server-side copies`);
    const last = names[names.length - 1]!;
    const inBucket = await hashObject(client, ctx.workVolume, last);
    if (inBucket !== source.sha256) throw new Error(`${last} in the bucket has sha256 ${inBucket}, expected ${source.sha256}`);
    ctx.result.checks.push(`sha256 of the last of the ${names.length} dedup copies in the bucket`);
  } finally {
    await proxy.close();
    await deletePrefix(client, ctx.workVolume, 'dedup-');
  }
}

/** The metrics of one side of the latency workload. */
const LATENCY_KEYS = {
  fast: { median: 'closeFastMedianMs', p95: 'closeFastP95Ms', total: 'closeFastTotalMs', uploaded: 'closeFastUploadedS' },
  slow: { median: 'closeSlowMedianMs', p95: 'closeSlowP95Ms', total: 'closeSlowTotalMs', uploaded: 'closeSlowUploadedS' },
} as const satisfies Record<string, Record<string, MetricKey>>;

/**
 * Close latency with write-back: the same workload on a fresh mount talking
 * straight to s3rver (fast) and on one through a proxy that waits
 * slowDelayMs before each request and carries bodies at slowBytesPerSecond
 * (slow). A child process writes latencyFiles files of latencyFileSize,
 * timing each open-write-close; then the bench waits until all are listed
 * in the bucket. Records median, 95th percentile and total per side, the
 * time until uploaded, and the slow/fast ratios. Only for tools that write
 * back (storaged, rclone); the written files are deleted afterwards.
 */
export async function closeLatency(ctx: ToolContext): Promise<void> {
  const { client, endpoint } = ctx;
  if (!client || !endpoint) return ctx.log('latency: no bucket, skipped');
  if (ctx.target.name === 's3fs') return ctx.log('latency: s3fs uploads on close (no write-back), skipped');
  const { slowDelayMs, slowBytesPerSecond } = WRITEBACK_WORKLOAD;
  const slow = await startBenchProxy({ targetPort: portOf(endpoint), delayMs: slowDelayMs, bytesPerSecond: slowBytesPerSecond });
  try {
    const fastSide = await latencyOn(ctx, 'fast', endpoint);
    const slowSide = await latencyOn(ctx, 'slow', slow.endpoint);
    record(ctx, 'closeSlowToFastMedian', slowSide.median / fastSide.median);
    record(ctx, 'closeSlowToFastP95', slowSide.p95 / fastSide.p95);
  } finally {
    await slow.close();
    await deletePrefix(client, ctx.workVolume, 'latency-');
  }
}

/** One side of closeLatency on a fresh mount using `endpoint`; returns its median and 95th percentile (ms). */
async function latencyOn(ctx: ToolContext, side: keyof typeof LATENCY_KEYS, endpoint: string): Promise<{ median: number; p95: number }> {
  const { latencyFiles, latencyFileSize } = WRITEBACK_WORKLOAD;
  const keys = LATENCY_KEYS[side];
  const prefix = `latency-${side}`;
  return withMount(ctx, ctx.workVolume, { freshCache: true, endpoint }, async (m) => {
    const written = await child<{ ms: number; startedAt: number; closes: number[] }>('close-latency.ts', [
      join(m.root, prefix),
      String(latencyFiles),
      String(latencyFileSize),
    ]);
    const median = medianOf(written.closes);
    const p95 = percentile(written.closes, 95);
    record(ctx, keys.median, median);
    record(ctx, keys.p95, p95);
    record(ctx, keys.total, written.ms);
    await waitForCount(ctx.client!, ctx.workVolume, `${prefix}/`, latencyFiles, UPLOAD_TIMEOUT_MS);
    const uploadedS = (Date.now() - written.startedAt) / 1000;
    record(ctx, keys.uploaded, uploadedS);
    ctx.log(`latency ${side}: median ${median.toFixed(1)} ms, p95 ${p95.toFixed(1)} ms, total ${written.ms.toFixed(0)} ms, uploaded after ${uploadedS.toFixed(1)} s`);
    return { median, p95 };
  });
}
