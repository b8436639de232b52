import type { BenchOptions } from './args.js';
import type { ToolResult } from './context.js';
import type { MachineInfo } from './machine.js';
import { METRICS, type MetricDefinition } from './metrics.js';
import { WRITEBACK_WORKLOAD } from './writeback.js';

/** The whole result of one bench run, as saved in bench/results/<date>.json. */
export interface BenchReport {
  date: string;
  command: string;
  machine: MachineInfo;
  options: Omit<BenchOptions, 'resultsDir'>;
  durationSeconds: number;
  tools: ToolResult[];
  /** Tools that could not run at all (e.g. storaged before its mount works), with the reason. */
  pending: Record<string, string>;
}

const COLUMNS = ['local', 'rclone', 's3fs', 'storaged'] as const;

function format(value: number | undefined, unit: MetricDefinition['unit']): string {
  if (value === undefined || Number.isNaN(value)) return '—';
  if (unit === 'ms') return value < 10 ? value.toFixed(1) : value.toFixed(0);
  if (unit === 'x') return value.toFixed(2);
  if (unit === 'files') return value.toFixed(0);
  if (unit === 's') return value < 100 ? value.toFixed(1) : value.toFixed(0);
  return value < 10 ? value.toFixed(2) : value.toFixed(0);
}

/** The first line of a message and, when it has more, its last non-empty line (a daemon's last words). */
function briefly(message: string): string {
  const lines = message.split('\n').map((l) => l.trim()).filter(Boolean);
  return lines.length > 1 ? `${lines[0]} … ${lines[lines.length - 1]}` : (lines[0] ?? '');
}

/** A byte count as people write it: 256 MiB, 2 GiB, 4 KiB. */
function bytes(n: number): string {
  for (const [unit, size] of [['GiB', 2 ** 30], ['MiB', 2 ** 20], ['KiB', 2 ** 10]] as const) {
    if (n >= size && n % size === 0) return `${n / size} ${unit}`;
  }
  return `${n} B`;
}

/** A metric's label with the run's parameters filled in. */
function label(metric: MetricDefinition, options: BenchReport['options']): string {
  const values: Record<string, string> = {
    size: bytes(options.size),
    files: options.files.toLocaleString('en-US'),
    fileSize: bytes(options.fileSize),
    entries: options.entries.toLocaleString('en-US'),
    streamSize: bytes(options.streamSize),
    copies: String(WRITEBACK_WORKLOAD.copies),
    latencyFiles: String(WRITEBACK_WORKLOAD.latencyFiles),
    latencyFileSize: bytes(WRITEBACK_WORKLOAD.latencyFileSize),
    slowBackend: `+${WRITEBACK_WORKLOAD.slowDelayMs} ms per request, ${WRITEBACK_WORKLOAD.slowBytesPerSecond / 1e6} MB/s`,
  };
  return metric.label.replace(/\{(\w+)\}/g, (_m, name: string) => values[name] ?? name);
}

function ratio(a: number | undefined, b: number | undefined): string {
  if (a === undefined || b === undefined || !(b > 0) || Number.isNaN(a)) return '—';
  return `${(a / b).toFixed(2)}x`;
}

function targetText(metric: MetricDefinition, storaged: number | undefined, rclone: number | undefined): string {
  const target = metric.target;
  if (!target) return '';
  if (target.kind === 'at-most') {
    const verdict = storaged === undefined ? 'pending' : storaged < target.value ? 'met' : 'missed';
    return `< ${target.value} ${metric.unit}: ${verdict}`;
  }
  const wanted = metric.better === 'higher' ? `≥ ${target.factor}x rclone` : `≤ ${target.factor}x rclone`;
  if (storaged === undefined || rclone === undefined) return `${wanted}: pending`;
  const r = storaged / rclone;
  const met = metric.better === 'higher' ? r >= target.factor : r <= target.factor;
  return `${wanted}: ${met ? 'met' : 'missed'}`;
}

/**
 * The markdown table of medians, with ratios storaged/rclone and
 * storaged/s3fs and the issues' targets. Rows no tool has a number for (their
 * phase was not run) are left out.
 */
export function markdownTable(report: BenchReport): string {
  const byTool = new Map(report.tools.map((t) => [t.tool, t]));
  const cell = (tool: string, metric: MetricDefinition) => {
    const result = byTool.get(tool as ToolResult['tool']);
    if (!result) return tool === 'storaged' && report.pending.storaged !== undefined ? 'pending' : 'not run';
    return format(result.metrics[metric.key], metric.unit);
  };
  const lines = [
    `| workload | unit | ${COLUMNS.join(' | ')} | storaged/rclone | storaged/s3fs | target |`,
    `|---|---|${COLUMNS.map(() => '---:').join('|')}|---:|---:|---|`,
  ];
  for (const metric of METRICS) {
    if (!report.tools.some((t) => t.metrics[metric.key] !== undefined && !Number.isNaN(t.metrics[metric.key]))) continue;
    const storaged = byTool.get('storaged')?.metrics[metric.key];
    const rclone = byTool.get('rclone')?.metrics[metric.key];
    const s3fs = byTool.get('s3fs')?.metrics[metric.key];
    lines.push(
      `| ${label(metric, report.options)} | ${metric.unit} (${metric.better} is better) | ${COLUMNS.map((c) => cell(c, metric)).join(' | ')} | ${ratio(storaged, rclone)} | ${ratio(storaged, s3fs)} | ${targetText(metric, storaged, rclone)} |`,
    );
  }
  const notes: string[] = [];
  for (const tool of report.tools) {
    for (const [phase, message] of Object.entries(tool.errors)) notes.push(`- ${tool.tool}, ${phase}: FAILED: ${briefly(message)}`);
  }
  for (const [tool, reason] of Object.entries(report.pending)) notes.push(`- ${tool}: not measured: ${briefly(reason)}`);
  return [lines.join('\n'), ...(notes.length ? ['', ...notes] : [])].join('\n');
}

/** A short markdown document: the run's parameters, machine and table. */
export function markdownReport(report: BenchReport): string {
  const m = report.machine;
  const o = report.options;
  return [
    `# Mount benchmark, ${report.date}`,
    '',
    `Command: \`${report.command}\``,
    '',
    `Machine: ${m.nproc} cores (${m.cpuModel}), ${m.memoryGiB} GiB memory, kernel ${m.kernel}, Node ${m.node}, load average at start ${m.loadAverage.join(' ')}.`,
    `Parameters: ${bytes(o.size)} sequential file, ${o.runs} runs (median), ${o.files} files of ${bytes(o.fileSize)}, ${o.entries} entries listed, ${bytes(o.streamSize)} streamed. Run took ${report.durationSeconds.toFixed(0)} s.`,
    ...(o.phases.includes('dedup') || o.phases.includes('latency')
      ? [`Write-back workloads: the ${bytes(o.size)} file written ${WRITEBACK_WORKLOAD.copies} times (dedup), ${WRITEBACK_WORKLOAD.latencyFiles} files of ${bytes(WRITEBACK_WORKLOAD.latencyFileSize)} against s3rver directly and through a proxy adding ${WRITEBACK_WORKLOAD.slowDelayMs} ms per request at ${WRITEBACK_WORKLOAD.slowBytesPerSecond / 1e6} MB/s (latency), each once.`]
      : []),
    `Versions: ${report.tools.map((t) => `${t.tool}: ${t.version}`).join('; ')}.`,
    '',
    markdownTable(report),
    '',
  ].join('\n');
}
