import type { MachineInfo } from './machine.js';
import type { ThumbsOptions } from './thumbs-args.js';
import { formatSizes } from './thumbs-args.js';
import type { PipelineProfile, PipelineRun } from './thumbs-pipeline.js';
import type { SideRun } from './thumbs-plain.js';
import type { OutputCheck } from './thumbs-verify.js';

/** The issue's target: the pipeline reaches at least this share of the plain script's rate. */
export const TARGET_RATIO = 0.9;

/** One round: both sides, in the order they ran. */
export interface ThumbsRound {
  round: number;
  order: Array<'plain' | 'pipeline'>;
  plain: SideRun;
  pipeline: Omit<PipelineRun, 'thumbsDir'>;
  /** pipeline thumbnails/s over plain thumbnails/s in this round. */
  ratio: number;
  check: OutputCheck;
}

/** Process settings that apply to both sides (they share the process). */
export interface ProcessSettings {
  uvThreadpoolSize: string;
  sharpConcurrency: number;
  sharpCache: boolean;
  sharpVersion: string;
  vipsVersion: string;
  simd: boolean;
}

/** Medians over the rounds of one side. */
export interface SideMedians {
  thumbnailsPerSecond: number;
  filesPerSecond: number;
  seconds: number;
  cpuSeconds: number;
}

/** Everything a saved result holds. */
export interface ThumbsResult {
  date: string;
  command: string;
  commit: string;
  machine: MachineInfo;
  loadAverageAtEnd: number[];
  settings: ProcessSettings;
  parameters: { files: number; sizes: string; format: string; quality: number; concurrency: number; rounds: number; meanPhotoBytes: number; rotatedPhotos: number };
  rounds: ThumbsRound[];
  medians: {
    plain: SideMedians;
    pipeline: SideMedians;
    /** Median pipeline CPU seconds / median plain CPU seconds (1 = the pipeline burns no extra CPU). */
    cpuRatio: number;
    /** Median pipeline rate / median plain rate. */
    ratio: number;
    /** Median over rounds of each profile field. */
    profile: PipelineProfile;
  };
  target: { ratio: number; met: boolean };
  seconds: number;
}

/** The median (the mean of the two middle values for an even count). */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length / 2;
  if (sorted.length === 0) return Number.NaN;
  return Number.isInteger(middle) ? (sorted[middle - 1]! + sorted[middle]!) / 2 : sorted[Math.floor(middle)]!;
}

/** Thumbnails per second of a side's run. */
export function rateOf(run: SideRun): number {
  return run.thumbnails / run.seconds;
}

/** The medians and the verdict of the rounds. */
export function summarise(rounds: readonly ThumbsRound[]): ThumbsResult['medians'] {
  const side = (pick: (round: ThumbsRound) => SideRun) => ({
    thumbnailsPerSecond: median(rounds.map((r) => rateOf(pick(r)))),
    filesPerSecond: median(rounds.map((r) => pick(r).files / pick(r).seconds)),
    seconds: median(rounds.map((r) => pick(r).seconds)),
    cpuSeconds: median(rounds.map((r) => pick(r).cpuSeconds)),
  });
  const plain = side((r) => r.plain);
  const pipeline = side((r) => r.pipeline);
  const profiles = rounds.map((r) => r.pipeline.profile);
  const steps = [...new Set(profiles.flatMap((p) => Object.keys(p.meanStepMs)))];
  const profile: PipelineProfile = {
    startMs: median(profiles.map((p) => p.startMs)),
    firstJobMs: median(profiles.map((p) => p.firstJobMs)),
    lastJobEndMs: median(profiles.map((p) => p.lastJobEndMs)),
    meanStepMs: Object.fromEntries(steps.map((step) => [step, median(profiles.map((p) => p.meanStepMs[step] ?? 0))])),
    meanWriteDerivedMs: median(profiles.map((p) => p.meanWriteDerivedMs)),
    slotUse: median(profiles.map((p) => p.slotUse)),
  };
  return { plain, pipeline, ratio: pipeline.thumbnailsPerSecond / plain.thumbnailsPerSecond, cpuRatio: pipeline.cpuSeconds / plain.cpuSeconds, profile };
}

/** The markdown report of a run. */
export function markdown(result: ThumbsResult, options: ThumbsOptions): string {
  const { medians: m, machine: mc, settings: s, parameters: p } = result;
  const f1 = (n: number) => n.toFixed(1);
  const f2 = (n: number) => n.toFixed(2);
  const lines = [
    `# Thumbnail benchmark, ${result.date}`,
    '',
    `Command: \`${result.command}\` (commit ${result.commit}, ${f1(result.seconds)} s)`,
    '',
    `Machine: ${mc.nproc} cores (${mc.cpuModel}), ${mc.memoryGiB} GiB memory, kernel ${mc.kernel}, Node ${mc.node}, load average ${mc.loadAverage.join(' ')} at start, ${result.loadAverageAtEnd.join(' ')} at end.`,
    `Both sides in one process: UV_THREADPOOL_SIZE ${s.uvThreadpoolSize}, sharp.concurrency ${s.sharpConcurrency}, libvips cache ${s.sharpCache ? 'on' : 'off'}, SIMD ${s.simd ? 'on' : 'off'}, sharp ${s.sharpVersion} (libvips ${s.vipsVersion}).`,
    `Work: ${p.files} JPEGs of 4000x3000 (mean ${f1(p.meanPhotoBytes / 2 ** 20)} MiB, ${p.rotatedPhotos} with an EXIF rotation), sizes ${p.sizes}, ${p.format} quality ${p.quality}, ${p.concurrency} files at once on both sides (hooks.concurrency), ${p.rounds} round(s), order alternating.`,
    '',
    '| side | thumbnails/s | files/s | wall s | vs plain | CPU s (all threads) | CPU vs plain |',
    '|---|---:|---:|---:|---:|---:|---:|',
    `| plain sharp script | ${f1(m.plain.thumbnailsPerSecond)} | ${f2(m.plain.filesPerSecond)} | ${f2(m.plain.seconds)} | 1.00x | ${f2(m.plain.cpuSeconds)} | 1.00x |`,
    `| storaged pipeline (local watched folder) | ${f1(m.pipeline.thumbnailsPerSecond)} | ${f2(m.pipeline.filesPerSecond)} | ${f2(m.pipeline.seconds)} | ${f2(m.ratio)}x | ${f2(m.pipeline.cpuSeconds)} | ${f2(m.cpuRatio)}x |`,
    '',
    `Target: pipeline >= ${TARGET_RATIO.toFixed(2)}x the plain script: **${result.target.met ? 'met' : 'missed'}** (${f2(m.ratio)}x, medians over ${p.rounds} round(s)).`,
    '',
    '| round | order | plain thumbs/s | pipeline thumbs/s | ratio | outputs equal |',
    '|---:|---|---:|---:|---:|---|',
    ...result.rounds.map(
      (r) =>
        `| ${r.round} | ${r.order.join(' then ')} | ${f1(rateOf(r.plain))} | ${f1(rateOf(r.pipeline))} | ${f2(r.ratio)}x | ${r.check.mismatchCount === 0 ? `yes (${r.check.compared})` : `NO: ${r.check.mismatchCount} of ${r.check.compared}`} |`,
    ),
    '',
    'Where the pipeline\'s time goes (medians; step times from the engine\'s own job records):',
    '',
    '| | ms |',
    '|---|---:|',
    `| open + start (database, watcher walks the folder) | ${f1(m.profile.startMs)} |`,
    `| until the first job is recorded | ${f1(m.profile.firstJobMs)} |`,
    ...Object.entries(m.profile.meanStepMs).map(([step, ms]) => `| step \`${step}\`, mean per file | ${f1(ms)} |`),
    `| of which placing the thumbnails (durable writes), mean per file | ${f1(m.profile.meanWriteDerivedMs)} |`,
    `| plain script, mean per file | ${f1(median(result.rounds.map((r) => r.plain.meanFileMs)))} |`,
    `| until the last job ended | ${f1(m.profile.lastJobEndMs)} |`,
    `| wall time | ${f1(m.pipeline.seconds * 1000)} |`,
    '',
    `Job slots busy inside a step: ${(m.profile.slotUse * 100).toFixed(0)}% of ${p.concurrency} x wall time.`,
  ];
  if (options.resultsDir === null) lines.push('', '(not saved: --no-save)');
  return `${lines.join('\n')}\n`;
}

/** The sizes as reported. */
export function sizesLabel(options: ThumbsOptions): string {
  return formatSizes(options.sizes);
}
