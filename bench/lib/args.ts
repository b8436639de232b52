import { parseSize } from '../../src/core/config/size.js';

/** The tools bench/run.ts can compare; `local` is the plain-disk baseline. */
export const TOOL_NAMES = ['local', 'rclone', 's3fs', 'storaged'] as const;
export type ToolName = (typeof TOOL_NAMES)[number];

/**
 * The parts of a tool's run (see bench/README.md): write, read (read back on
 * the same mount), create, ls (of the created files), cold (read after a
 * remount), list (the big listing), stream (streaming memory), and the
 * write-back workloads of issue 4: dedup (the same file written ten times)
 * and latency (close latency against a fast and a slow backend).
 */
export const PHASE_NAMES = ['write', 'read', 'create', 'ls', 'cold', 'list', 'stream', 'dedup', 'latency'] as const;
export type PhaseName = (typeof PHASE_NAMES)[number];
/**
 * The phases run without --phases: those of issue 3. dedup and latency are
 * asked for by name (or `--phases all`): they add ~10 minutes and ~3 GiB of
 * scratch space per full run, and need the bench proxy.
 */
export const DEFAULT_PHASES: readonly PhaseName[] = ['write', 'read', 'create', 'ls', 'cold', 'list', 'stream'];
/** Phases another one needs first: reads need the written files, ls the created ones. */
const PHASE_NEEDS: Partial<Record<PhaseName, PhaseName>> = { read: 'write', cold: 'write', ls: 'create' };

/** What one bench run does, from the command line. */
export interface BenchOptions {
  tools: ToolName[];
  /** Bytes of the sequential write/read file. */
  size: number;
  /** Bytes streamed through the mount while the daemon's memory is sampled. */
  streamSize: number;
  /** Files created by one process in the creation workload. */
  files: number;
  /** Size of each created file. */
  fileSize: number;
  /** Objects put directly in the bucket for the big listing. */
  entries: number;
  /** Repetitions of each timed workload (the median is reported). */
  runs: number;
  /** Phases to run (those the chosen ones need included), in PHASE_NAMES order; default DEFAULT_PHASES. */
  phases: PhaseName[];
  /** A built storaged CLI (dist/cli/main.js) to use instead of compiling src/ privately. */
  storagedCli?: string;
  /** Where the JSON and markdown results go (null: not saved). */
  resultsDir: string | null;
}

const USAGE = `usage: node --import tsx bench/run.ts [--only local,rclone,s3fs,storaged] [--size 256MiB]
  [--stream-size 2GiB] [--files 500] [--file-size 4KiB] [--entries 10000] [--runs 3]
  [--phases ${DEFAULT_PHASES.join(',')} | all | LIST with ${PHASE_NAMES.filter((p) => !DEFAULT_PHASES.includes(p)).join(',')}]
  [--storaged-cli dist/cli/main.js] [--results-dir bench/results | --no-save]`;

/** Parses argv (without node and the script); throws with the usage text on anything unknown. */
export function parseArgs(argv: string[], defaultResultsDir: string): BenchOptions {
  const options: BenchOptions = {
    tools: [...TOOL_NAMES],
    size: 256 * 2 ** 20,
    streamSize: 2 * 2 ** 30,
    files: 500,
    fileSize: 4096,
    entries: 10_000,
    runs: 3,
    phases: [...DEFAULT_PHASES],
    resultsDir: defaultResultsDir,
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    if (flag === '--help' || flag === '-h') throw new Error(USAGE);
    if (flag === '--no-save') {
      options.resultsDir = null;
      continue;
    }
    const value = argv[++i];
    if (value === undefined) throw new Error(`${flag} needs a value\n${USAGE}`);
    switch (flag) {
      case '--only':
        options.tools = value.split(',').map((name) => {
          if (!(TOOL_NAMES as readonly string[]).includes(name)) throw new Error(`unknown tool '${name}' in --only\n${USAGE}`);
          return name as ToolName;
        });
        break;
      case '--size':
        options.size = parseSize(value);
        break;
      case '--stream-size':
        options.streamSize = parseSize(value);
        break;
      case '--files':
        options.files = positiveInt(flag, value);
        break;
      case '--file-size':
        options.fileSize = parseSize(value);
        break;
      case '--entries':
        options.entries = positiveInt(flag, value);
        break;
      case '--runs':
        options.runs = positiveInt(flag, value);
        break;
      case '--phases':
        options.phases = parsePhases(value);
        break;
      case '--storaged-cli':
        options.storagedCli = value;
        break;
      case '--results-dir':
        options.resultsDir = value;
        break;
      default:
        throw new Error(`unknown option '${flag}'\n${USAGE}`);
    }
  }
  return options;
}

/** A comma-separated phase list (or `all`), with the phases they need added, in PHASE_NAMES order. */
function parsePhases(value: string): PhaseName[] {
  if (value === 'all') return [...PHASE_NAMES];
  const chosen = new Set<PhaseName>();
  for (const name of value.split(',')) {
    if (!(PHASE_NAMES as readonly string[]).includes(name)) throw new Error(`unknown phase '${name}' in --phases\n${USAGE}`);
    chosen.add(name as PhaseName);
    const needed = PHASE_NEEDS[name as PhaseName];
    if (needed !== undefined) chosen.add(needed);
  }
  return PHASE_NAMES.filter((name) => chosen.has(name));
}

function positiveInt(flag: string, value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`${flag} must be a positive integer, got '${value}'`);
  return n;
}
