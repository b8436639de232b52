/**
 * The process crash.test.ts kills: opens `<cacheDir>/hooks.db`, starts a
 * dispatcher over the real files of `root` (TempFolder) with steps that
 * record their effects in real files, and submits every file of `root`
 * (again on a restart: submit is idempotent). Steps, each appending
 * `<path>` to `<logDir>/<step>.log` when it starts:
 *   stage     copies the file to `<workDir>/source` (output);
 *   transform sleeps `slowMs`, then writes `<outDir>/<path>.out` (the
 *             sha256 of its input: deterministic);
 *   finish    records { done: true }.
 * release() appends `<path>` to `<logDir>/release.log`. Prints
 * `begin <step> <path>` on stdout as each step starts (stdout is a pipe:
 * synchronous), then `idle` once every job ended, and exits 0.
 *
 * Usage: node --import tsx crash-child.ts '<json: CrashChildArgs>'
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { appendFile, mkdir, readdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import { createDispatcher } from '../../../../src/daemon/hooks/dispatcher.js';
import { openHooksDatabase } from '../../../../src/daemon/hooks/hooks-db.js';
import { openJobStore } from '../../../../src/daemon/hooks/job-store.js';
import type { Step, StepContext, StepOutcome } from '../../../../src/daemon/hooks/types.js';
import { TempFolder } from './temp-folder.js';

/** What the test passes (argv[2], JSON). */
export interface CrashChildArgs {
  cacheDir: string;
  root: string;
  stagingDir: string;
  logDir: string;
  outDir: string;
  concurrency: number;
  slowMs: number;
}

const args = JSON.parse(process.argv[2] ?? '{}') as CrashChildArgs;

class LoggingFolder extends TempFolder {
  override async release(path: string): Promise<void> {
    await appendFile(join(args.logDir, 'release.log'), `${path}\n`);
  }
}

/** A step that logs its start (file and stdout) before running `body`. */
function logged(name: string, body: (ctx: StepContext) => Promise<StepOutcome>): Step {
  return {
    name,
    async run(ctx) {
      await appendFile(join(args.logDir, `${name}.log`), `${ctx.job.path}\n`);
      process.stdout.write(`begin ${name} ${ctx.job.path}\n`);
      return body(ctx);
    },
  };
}

const steps: Step[] = [
  logged('stage', async (ctx) => {
    const target = join(ctx.workDir, 'source');
    await pipeline(await ctx.folder.read(ctx.job.path), createWriteStream(target), { signal: ctx.signal });
    return { kind: 'next', output: target };
  }),
  logged('transform', async (ctx) => {
    await sleep(args.slowMs, undefined, { signal: ctx.signal });
    const digest = createHash('sha256');
    await pipeline(createReadStream(ctx.input), digest);
    const sha256 = digest.digest('hex');
    const out = join(args.outDir, `${ctx.job.path}.out`);
    await mkdir(dirname(out), { recursive: true });
    await writeFile(out, `${sha256}\n`);
    return { kind: 'next', detail: { sha256 } };
  }),
  logged('finish', async () => ({ kind: 'next', detail: { done: true } })),
];

const db = openHooksDatabase(args.cacheDir);
const store = openJobStore(db);
const folder = new LoggingFolder('drop', args.root);
const dispatcher = createDispatcher({
  store,
  folders: () => folder,
  steps: () => steps,
  destinations: () => ({ rejectedDir: join(args.cacheDir, 'rejected'), quarantineDir: join(args.cacheDir, 'quarantine') }),
  stagingDir: args.stagingDir,
  concurrency: args.concurrency,
  retryDelayMs: 10,
  maxRetryDelayMs: 100,
  logger: pino({ level: process.env.STORAGED_CRASH_CHILD_LOG ?? 'warn' }, pino.destination(2)),
});
await dispatcher.start();
const paths = (await readdir(args.root, { recursive: true, withFileTypes: true }))
  .filter((entry) => entry.isFile())
  .map((entry) => join(entry.parentPath, entry.name).slice(args.root.length + 1))
  .sort();
for (const path of paths) {
  const version = await folder.stat(path);
  if (version !== undefined) dispatcher.submit('drop', version);
}
await dispatcher.idle();
await dispatcher.stop();
db.close();
process.stdout.write('idle\n');
