/**
 * The thumbnail benchmark of issue 6: thumbnails per second of storaged's
 * hook pipeline (a HooksEngine on a local watched folder, hooks:
 * [thumbnails]) against a plain sharp script doing the same work on the
 * same photos (same sizes, fit, format, quality, EXIF rotation, same number
 * of files at once). Target: the pipeline reaches >= 0.90x the script's rate.
 * Usage: node --import tsx bench/thumbnails.ts [--files 200] [--sizes 150x150,800x600:inside]
 *   [--rounds 3] [--concurrency 2] [--format webp] [--quality 80] [--sharp-threads N]
 *   [--sharp-cache on|off] [--results-dir bench/results | --no-save]
 * Prints a markdown report on stdout (progress on stderr) and saves
 * bench/results/thumbnails-<date>.json and .md. See bench/README.md.
 */
import { execFile, execFileSync } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { describeMachine } from './lib/machine.js';
import { parseThumbsArgs, type ThumbsOptions } from './lib/thumbs-args.js';
import { ensurePhotos, type SourcePhoto } from './lib/thumbs-images.js';
import { runPipeline } from './lib/thumbs-pipeline.js';
import { runPlain } from './lib/thumbs-plain.js';
import { markdown, rateOf, sizesLabel, summarise, TARGET_RATIO, type ProcessSettings, type ThumbsResult, type ThumbsRound } from './lib/thumbs-report.js';
import { compareOutputs } from './lib/thumbs-verify.js';

const here = dirname(fileURLToPath(import.meta.url));
const say = (line: string) => process.stderr.write(`[thumbs] ${line}\n`);

let options: ThumbsOptions;
try {
  options = parseThumbsArgs(process.argv.slice(2), join(here, 'results'));
} catch (err) {
  console.error((err as Error).message);
  process.exit(2);
}

// Process-wide settings: both sides run in this process, so they share them.
if (!options.sharpCache) sharp.cache(false);
if (options.sharpThreads !== undefined) sharp.concurrency(options.sharpThreads);
const settings: ProcessSettings = {
  uvThreadpoolSize: process.env.UV_THREADPOOL_SIZE ?? '4 (libuv default)',
  sharpConcurrency: sharp.concurrency(),
  sharpCache: options.sharpCache,
  sharpVersion: sharp.versions.sharp ?? 'unknown',
  vipsVersion: sharp.versions.vips,
  simd: sharp.simd(),
};

const began = performance.now();
const machine = describeMachine();
say(`${options.files} photos of 4000x3000 (generated once in the temp folder, kept for later runs)`);
const photos = await ensurePhotos(options.files, 2, (made, total) => say(`generated ${made}/${total}`));
await warmUp(photos);

const work = await mkdtemp(join(tmpdir(), 'storaged-bench-thumbs-'));
const rounds: ThumbsRound[] = [];
try {
  for (let round = 1; round <= options.rounds; round++) rounds.push(await runRound(round, join(work, `round-${round}`)));
} finally {
  await rm(work, { recursive: true, force: true });
}

const medians = summarise(rounds);
const result: ThumbsResult = {
  date: new Date().toISOString(),
  command: `node --import tsx bench/thumbnails.ts ${process.argv.slice(2).join(' ')}`.trim(),
  commit: commitOf(),
  machine,
  loadAverageAtEnd: loadavg().map((n) => Math.round(n * 100) / 100),
  settings,
  parameters: {
    files: options.files,
    sizes: sizesLabel(options),
    format: options.format,
    quality: options.quality,
    concurrency: options.concurrency,
    rounds: options.rounds,
    meanPhotoBytes: photos.reduce((sum, p) => sum + p.bytes, 0) / photos.length,
    rotatedPhotos: photos.filter((p) => p.orientation !== 1).length,
  },
  rounds,
  medians,
  target: { ratio: TARGET_RATIO, met: medians.ratio >= TARGET_RATIO },
  seconds: (performance.now() - began) / 1000,
};
const report = markdown(result, options);
process.stdout.write(report);
if (options.resultsDir !== null) {
  const stamp = result.date.replace(/\.\d+Z$/, '').replaceAll(':', '-');
  await mkdir(options.resultsDir, { recursive: true });
  await writeFile(join(options.resultsDir, `thumbnails-${stamp}.json`), `${JSON.stringify(result, null, 2)}\n`);
  await writeFile(join(options.resultsDir, `thumbnails-${stamp}.md`), report);
  say(`saved ${join(options.resultsDir, `thumbnails-${stamp}`)}.json and .md`);
}
if (rounds.some((r) => r.check.mismatchCount > 0)) process.exitCode = 1;

/** Both sides of one round, plain first in odd rounds, the pipeline first in even ones; then their outputs compared. */
async function runRound(round: number, dir: string): Promise<ThumbsRound> {
  const order: ThumbsRound['order'] = round % 2 === 1 ? ['plain', 'pipeline'] : ['pipeline', 'plain'];
  let plain: Awaited<ReturnType<typeof runPlain>> | undefined;
  let pipeline: Awaited<ReturnType<typeof runPipeline>> | undefined;
  for (const side of order) {
    say(`round ${round}/${options.rounds}: ${side}...`);
    if (side === 'plain') plain = await runPlain(photos, options, join(dir, 'plain-out'));
    else pipeline = await runPipeline(photos, options, join(dir, 'pipeline'));
    const run = side === 'plain' ? plain! : pipeline!;
    say(`round ${round}: ${side} ${run.seconds.toFixed(2)} s, ${rateOf(run).toFixed(1)} thumbnails/s`);
    // Outside the clock: the next side must not pay for flushing this one's writes.
    await promisify(execFile)('sync');
  }
  const check = await compareOutputs(photos, options, join(dir, 'plain-out'), pipeline!.thumbsDir);
  if (check.mismatchCount > 0) say(`round ${round}: ${check.mismatchCount} thumbnails differ: ${check.mismatches.join('; ')}`);
  await rm(dir, { recursive: true, force: true });
  const { thumbsDir: _thumbsDir, ...pipelineRun } = pipeline!;
  return { round, order, plain: plain!, pipeline: pipelineRun, ratio: rateOf(pipeline!) / rateOf(plain!), check };
}

/** Reads every photo once (both sides then find them in the page cache) and makes one thumbnail (libvips loaded). */
async function warmUp(all: readonly SourcePhoto[]): Promise<void> {
  for (const photo of all) {
    for await (const _chunk of createReadStream(photo.path)) {
      // Only the reading matters.
    }
  }
  if (all[0] !== undefined) await sharp(all[0].path).resize(64, 64).webp().toBuffer();
}

function commitOf(): string {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: here, encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
}
