import { copyFile, link, mkdir, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pino } from 'pino';
import { parseConfig } from '../../src/core/config/loader.js';
import { openDatabase } from '../../src/daemon/db.js';
import type { WatchStatus } from '../../src/daemon/hooks/dispatcher.js';
import { HooksEngine } from '../../src/daemon/hooks/engine.js';
import { hooksDirectory, HOOKS_DB_FILE } from '../../src/daemon/hooks/hooks-db.js';
import { LocalDropFolder } from '../../src/daemon/hooks/local-folder.js';
import type { SourcePhoto } from './thumbs-images.js';
import { cpuSecondsSince, type SideRun, type ThumbnailWork } from './thumbs-plain.js';

/** The watched folder's name in the bench config. */
export const WATCH_NAME = 'bench';
/** Where the thumbnails go inside the watched folder (the hook's `to`). */
export const THUMBS_FOLDER = 'thumbs';
/** How often the bench looks whether every job was recorded, ms (then it awaits the engine's idle()). */
const SUBMITTED_POLL_MS = 10;
/** The watcher reports files already there at once: not all recorded after this long is a failure, ms. */
const RECORD_TIMEOUT_MS = 120_000;

/** Where the pipeline's time went, from the engine's own job records (hook_jobs). */
export interface PipelineProfile {
  /** From the start of the run until HooksEngine.start() resolved (database opened, watcher walked the folder), ms. */
  startMs: number;
  /** From the start of the run until the first job was recorded, ms. */
  firstJobMs: number;
  /** From the start of the run until the last job ended, ms (the rest of the wall time is the final staging cleanup). */
  lastJobEndMs: number;
  /** Mean ms of each step per job, by step name ('stage', 'thumbnails'). */
  meanStepMs: Record<string, number>;
  /** Mean ms per job spent in LocalDropFolder.writeDerived (placing the thumbnails durably; part of the thumbnails step). */
  meanWriteDerivedMs: number;
  /** Sum of all step times / (concurrency x wall time): 1 would mean the job slots were never idle or busy outside a step. */
  slotUse: number;
}

/** One run of the pipeline side. */
export interface PipelineRun extends SideRun {
  profile: PipelineProfile;
  /** The folder the thumbnails were written to (`<watched folder>/thumbs`). */
  thumbsDir: string;
}

/**
 * storaged's pipeline on a LOCAL watched folder: `root/inbox` gets a hard
 * link of every photo first (old mtimes: the watcher reports them at once,
 * as files that have been complete for longer than stable_ms), then the
 * clock starts, a HooksEngine is opened on a config with that one folder
 * (hooks: [thumbnails] with the bench's sizes, format and quality; no scan;
 * rules off; hooks.concurrency = work.concurrency) and started, and the
 * clock stops when every job is recorded and the engine is idle (all jobs
 * ended, staging folders removed). Every job must end 'done' (else throws,
 * with the counts). The engine's logs (warnings and worse) go to stderr.
 */
export async function runPipeline(photos: readonly SourcePhoto[], work: ThumbnailWork, root: string): Promise<PipelineRun> {
  const inbox = join(root, 'inbox');
  const cacheDir = join(root, 'cache');
  await mkdir(inbox, { recursive: true });
  for (const photo of photos) await placeInto(photo, join(inbox, photo.name));
  const config = parseConfig(configText(work, inbox, cacheDir, join(root, 'disk')), join(root, 'config.yaml'), root, {});
  const logger = pino({ name: 'thumbbench', level: 'warn' }, pino.destination(2));

  const cpu = process.cpuUsage();
  const startedEpoch = Date.now();
  const started = performance.now();
  const engine = HooksEngine.open(config, { local: true }, logger);
  if (engine === undefined) throw new Error('the bench config watches no local folder');
  const derived = timeWriteDerived();
  let startMs: number;
  let seconds: number;
  let cpuSeconds: number;
  let status: WatchStatus | undefined;
  try {
    await engine.start();
    startMs = performance.now() - started;
    while (recorded(engine) < photos.length) {
      if (performance.now() - started > RECORD_TIMEOUT_MS) throw new Error(`pipeline: only ${recorded(engine)} of ${photos.length} files were reported by the watcher`);
      await new Promise((resolve) => setTimeout(resolve, SUBMITTED_POLL_MS));
    }
    await engine.idle();
    seconds = (performance.now() - started) / 1000;
    cpuSeconds = cpuSecondsSince(cpu);
    status = engine.status().find((s) => s.watch === WATCH_NAME);
  } finally {
    await engine.close();
    derived.restore();
  }
  if (status?.counts.done !== photos.length) {
    throw new Error(`pipeline: expected ${photos.length} jobs done, counts ${JSON.stringify(status?.counts)}; failing ${JSON.stringify(status?.failing)}`);
  }
  const profile = profileOf(join(hooksDirectory(cacheDir, {}), HOOKS_DB_FILE), startedEpoch, startMs, seconds, work.concurrency, derived.ms() / photos.length);
  const thumbnails = photos.length * work.sizes.length;
  return { seconds, files: photos.length, thumbnails, meanFileMs: sumOfSteps(profile), cpuSeconds, profile, thumbsDir: join(inbox, THUMBS_FOLDER) };
}

/** The config.yaml of the bench: one local watched folder with the thumbnails hook only. */
function configText(work: ThumbnailWork, inbox: string, cacheDir: string, diskRoot: string): string {
  const sizes = work.sizes.map((s) => `{ width: ${s.width}, height: ${s.height}, fit: ${s.fit} }`).join(', ');
  return (
    `cache: { dir: ${JSON.stringify(cacheDir)} }\n` +
    // A disk is required by the config schema; the local engine never opens it.
    `disks:\n  scratch: { driver: local, root: ${JSON.stringify(diskRoot)} }\n` +
    `hooks: { concurrency: ${work.concurrency} }\n` +
    `watch:\n  ${WATCH_NAME}:\n    local: ${JSON.stringify(inbox)}\n    rules: { sniff: false }\n` +
    `    hooks:\n      - thumbnails: { to: ${THUMBS_FOLDER}, sizes: [${sizes}], format: ${work.format}, quality: ${work.quality} }\n`
  );
}

/** Puts the photo in the watched folder: a hard link (the photo's old mtime), or a copy dated an hour back on another file system. */
async function placeInto(photo: SourcePhoto, target: string): Promise<void> {
  try {
    await link(photo.path, target);
  } catch (err) {
    if ((err as { code?: unknown }).code !== 'EXDEV') throw err;
    await copyFile(photo.path, target);
    const old = new Date(Date.now() - 3_600_000);
    await utimes(target, old, old);
  }
}

/** Jobs the engine has recorded for the bench folder (any state). */
function recorded(engine: HooksEngine): number {
  const status = engine.status().find((s) => s.watch === WATCH_NAME);
  return status === undefined ? 0 : Object.values(status.counts).reduce((a, b) => a + b, 0);
}

/** Reads the finished jobs' step times from the engine's database (closed by then). */
function profileOf(file: string, startedEpoch: number, startMs: number, seconds: number, concurrency: number, meanWriteDerivedMs: number): PipelineProfile {
  const db = openDatabase(file);
  try {
    const rows = db.prepare<{ created_ms: number; updated_ms: number; results: string }>('SELECT created_ms, updated_ms, results FROM hook_jobs').all();
    const totals: Record<string, number> = {};
    let stepsMs = 0;
    for (const row of rows) {
      for (const result of JSON.parse(row.results) as Array<{ step: string; ms: number }>) {
        totals[result.step] = (totals[result.step] ?? 0) + result.ms;
        stepsMs += result.ms;
      }
    }
    const meanStepMs = Object.fromEntries(Object.entries(totals).map(([step, ms]) => [step, ms / Math.max(1, rows.length)]));
    return {
      startMs,
      firstJobMs: Math.min(...rows.map((r) => r.created_ms)) - startedEpoch,
      lastJobEndMs: Math.max(...rows.map((r) => r.updated_ms)) - startedEpoch,
      meanStepMs,
      meanWriteDerivedMs,
      slotUse: stepsMs / (concurrency * seconds * 1000),
    };
  } finally {
    db.close();
  }
}

/**
 * Times every LocalDropFolder.writeDerived and writeDerivedBytes call until
 * restore() (the prototype methods are wrapped: the engine's own code runs
 * unchanged, only timed). The one part of a step the job records cannot show.
 */
function timeWriteDerived(): { ms: () => number; restore: () => void } {
  const names = ['writeDerived', 'writeDerivedBytes'] as const;
  const originals = names.map((name) => [name, Object.getOwnPropertyDescriptor(LocalDropFolder.prototype, name)!] as const);
  let total = 0;
  for (const [name, original] of originals) {
    const call = original.value as (this: LocalDropFolder, ...args: unknown[]) => Promise<void>;
    Object.defineProperty(LocalDropFolder.prototype, name, {
      ...original,
      value: async function timed(this: LocalDropFolder, ...args: unknown[]): Promise<void> {
        const started = performance.now();
        try {
          await call.apply(this, args);
        } finally {
          total += performance.now() - started;
        }
      },
    });
  }
  return { ms: () => total, restore: () => originals.forEach(([name, original]) => Object.defineProperty(LocalDropFolder.prototype, name, original)) };
}

function sumOfSteps(profile: PipelineProfile): number {
  return Object.values(profile.meanStepMs).reduce((a, b) => a + b, 0);
}
