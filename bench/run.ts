/**
 * The mount benchmark of issues 3 and 4: the same workloads on the local
 * disk, on `rclone mount --vfs-cache-mode full`, on s3fs and on `storaged
 * mount`, the three mounts against one s3rver on 127.0.0.1 (a bucket per
 * tool; the write-back workloads go through a proxy in front of it).
 * Usage: node --import tsx bench/run.ts [--only storaged,rclone,s3fs] [--size 256MiB] (see --help).
 * Needs root, /dev/fuse and bench/setup.sh. Prints the markdown table and
 * saves bench/results/<date>.json and .md.
 */
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import { startS3rver, type S3rver } from '../test/support/servers/s3rver.js';
import { parseArgs, type PhaseName, type ToolName } from './lib/args.js';
import type { ToolContext, ToolResult } from './lib/context.js';
import { describeMachine } from './lib/machine.js';
import { median, type MetricKey } from './lib/metrics.js';
import { liveMounts, MountError } from './lib/mounts.js';
import { run } from './lib/proc.js';
import { markdownReport, markdownTable, type BenchReport } from './lib/report.js';
import { createBenchClient, seedObjects } from './lib/s3.js';
import { ensureSourceFile, seedLocalFolder } from './lib/source.js';
import { localTarget } from './lib/targets/local.js';
import { rcloneTarget } from './lib/targets/rclone.js';
import { s3fsTarget } from './lib/targets/s3fs.js';
import { prepareStoragedCli, storagedTarget } from './lib/targets/storaged.js';
import type { Target, TargetEnvironment } from './lib/targets/types.js';
import { bigListing, coldRead, emptyWorkVolume, streamMemory, writeReadCreate } from './lib/workloads.js';
import { closeLatency, dedupWrites, WRITEBACK_WORKLOAD } from './lib/writeback.js';

const benchDir = import.meta.dirname;
const log = (message: string) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`);

/** Why a tool cannot run on this machine, or null when it can. */
async function missingTool(tool: ToolName): Promise<string | null> {
  if (tool === 'local') return null;
  if (process.getuid?.() !== 0) return 'needs root (FUSE mounts, drop_caches)';
  if (!existsSync('/dev/fuse')) return '/dev/fuse is missing';
  if (tool === 'rclone' || tool === 's3fs') {
    const found = await run('sh', ['-c', `command -v ${tool}`]).then(() => true, () => false);
    if (!found) return `${tool} is not installed: run bench/setup.sh`;
  }
  return null;
}

async function benchTool(target: Target, ctx: Omit<ToolContext, 'target' | 'result'>): Promise<ToolResult> {
  const result: ToolResult = { tool: target.name, version: await target.version(), metrics: {}, samples: {}, errors: {}, checks: [] };
  const full: ToolContext = { ...ctx, target, result, log: (m) => log(`${target.name}: ${m}`) };
  const chosen = (...names: PhaseName[]) => names.some((name) => ctx.options.phases.includes(name));
  const phases: [string, (c: ToolContext) => Promise<void>, boolean][] = [
    ['write, read back, create, ls', writeReadCreate, chosen('write', 'read', 'create', 'ls')],
    ['cold read after remount', coldRead, chosen('cold')],
    ['empty the bucket', emptyWorkVolume, chosen('write', 'create')],
    ['big listing', bigListing, chosen('list')],
    ['streaming memory', streamMemory, chosen('stream')],
    [`dedup: the same file written ${WRITEBACK_WORKLOAD.copies} times`, dedupWrites, chosen('dedup')],
    ['close latency, fast and slow backend', closeLatency, chosen('latency')],
  ];
  let first = true;
  for (const [name, phase, wanted] of phases) {
    if (!wanted) continue;
    full.log(`phase: ${name}`);
    try {
      await phase(full);
    } catch (err) {
      result.errors[name] = (err as Error).message;
      full.log(`FAILED ${name}: ${(err as Error).message}`);
      if (err instanceof MountError && first) {
        full.log('it does not mount: the other phases are skipped');
        break;
      }
    }
    first = false;
  }
  for (const [key, samples] of Object.entries(result.samples)) result.metrics[key as MetricKey] = median(samples);
  return result;
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const options = parseArgs(argv, join(benchDir, 'results'));
  const started = performance.now();
  const machine = describeMachine();
  const date = new Date().toISOString();
  const workDir = await mkdtemp(join(tmpdir(), 'storaged-bench-'));
  const env: TargetEnvironment = { endpoint: '', workDir };
  const pending: Record<string, string> = {};
  const tools: ToolResult[] = [];
  let s3: S3rver | undefined;
  let client: S3Client | undefined;
  const cleanup = async () => {
    await Promise.allSettled([...liveMounts].map((m) => m.unmount()));
    client?.destroy();
    await s3?.stop();
    await rm(workDir, { recursive: true, force: true });
  };
  const interrupted = () => {
    log('interrupted: unmounting and stopping s3rver');
    void cleanup().finally(() => process.exit(130));
  };
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);
  try {
    const targets: Target[] = [];
    const runnable: ToolName[] = [];
    for (const tool of options.tools) {
      const reason = await missingTool(tool);
      if (reason) pending[tool] = reason;
      else runnable.push(tool);
    }
    log(`source file of ${options.size} bytes`);
    const source = await ensureSourceFile(options.size);
    let listBucket = 'list';
    if (runnable.some((t) => t !== 'local')) {
      s3 = await startS3rver();
      env.endpoint = s3.endpoint;
      client = createBenchClient(s3.endpoint);
      listBucket = await s3.createBucket();
      log(`s3rver on ${s3.endpoint}`);
      if (options.phases.includes('list')) {
        log(`putting ${options.entries} objects in ${listBucket}/many/`);
        await seedObjects(client, listBucket, 'many', options.entries);
      }
    }
    for (const tool of runnable) {
      if (tool === 'local') targets.push(localTarget(env));
      if (tool === 'rclone') targets.push(rcloneTarget(env));
      if (tool === 's3fs') targets.push(s3fsTarget(env));
      if (tool === 'storaged') {
        try {
          targets.push(storagedTarget(env, await prepareStoragedCli(workDir, options.storagedCli)));
        } catch (err) {
          pending.storaged = (err as Error).message;
          log(`storaged pending: ${pending.storaged.split('\n')[0]}`);
        }
      }
    }
    for (const target of targets) {
      log(`=== ${target.name}`);
      const local = !target.usesBucket;
      if (local && options.phases.includes('list')) await seedLocalFolder(join(workDir, 'local', 'list', 'many'), options.entries);
      const workVolume = local ? 'work' : await s3!.createBucket();
      const shared = { options, source, client: local ? null : client!, endpoint: local ? null : env.endpoint, log };
      tools.push(await benchTool(target, { ...shared, workVolume, listVolume: local ? 'list' : listBucket }));
    }
  } finally {
    await cleanup();
  }
  const { resultsDir, ...kept } = options;
  const report: BenchReport = {
    date,
    command: `node --import tsx bench/run.ts ${argv.join(' ')}`.trim(),
    machine,
    options: kept,
    durationSeconds: (performance.now() - started) / 1000,
    tools,
    pending,
  };
  process.stdout.write(markdownTable(report) + '\n');
  if (resultsDir) {
    const stamp = date.replace(/:/g, '-').replace(/\..*$/, '');
    await mkdir(resolve(resultsDir), { recursive: true });
    await writeFile(join(resolve(resultsDir), `${stamp}.json`), JSON.stringify(report, null, 2) + '\n');
    await writeFile(join(resolve(resultsDir), `${stamp}.md`), markdownReport(report));
    log(`saved ${join(resultsDir, `${stamp}.json`)} and .md`);
  }
}

main().catch((err: Error) => {
  process.stderr.write(`bench failed: ${err.stack ?? err.message}\n`);
  process.exitCode = 1;
});
