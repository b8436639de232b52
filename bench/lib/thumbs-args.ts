import type { BenchSize, ThumbnailWork } from './thumbs-plain.js';

/** What one run of bench/thumbnails.ts does, from the command line. */
export interface ThumbsOptions extends ThumbnailWork {
  /** Photos in the folder. */
  files: number;
  /** Rounds (each runs both sides; the order alternates); medians are reported. */
  rounds: number;
  /** sharp.concurrency() to set (libvips threads per image); undefined: sharp's default. */
  sharpThreads?: number;
  /** Keep libvips' operation cache on (sharp's default); off by default so no round reuses another's decodes. */
  sharpCache: boolean;
  /** Where `thumbnails-<date>.json` and `.md` go; null: not saved. */
  resultsDir: string | null;
}

const USAGE = `usage: node --import tsx bench/thumbnails.ts [--files 200] [--sizes 150x150,800x600:inside]
  [--rounds 3] [--concurrency 2] [--format webp] [--quality 80] [--sharp-threads N] [--sharp-cache on|off]
  [--results-dir bench/results | --no-save]`;

const FORMATS = ['jpeg', 'png', 'webp', 'avif'] as const;

/** Parses argv (without node and the script); throws with the usage text on anything unknown. */
export function parseThumbsArgs(argv: readonly string[], defaultResultsDir: string): ThumbsOptions {
  const options: ThumbsOptions = {
    files: 200,
    rounds: 3,
    sizes: parseSizes('150x150,800x600:inside'),
    format: 'webp',
    quality: 80,
    concurrency: 2,
    sharpCache: false,
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
      case '--files':
        options.files = positiveInt(flag, value);
        break;
      case '--rounds':
        options.rounds = positiveInt(flag, value);
        break;
      case '--sizes':
        options.sizes = parseSizes(value);
        break;
      case '--concurrency':
        options.concurrency = positiveInt(flag, value);
        break;
      case '--format':
        if (!(FORMATS as readonly string[]).includes(value)) throw new Error(`--format must be one of ${FORMATS.join(', ')}\n${USAGE}`);
        options.format = value as ThumbsOptions['format'];
        break;
      case '--quality':
        options.quality = positiveInt(flag, value);
        if (options.quality > 100) throw new Error(`--quality must be 1..100\n${USAGE}`);
        break;
      case '--sharp-threads':
        options.sharpThreads = positiveInt(flag, value);
        break;
      case '--sharp-cache':
        if (value !== 'on' && value !== 'off') throw new Error(`--sharp-cache must be on or off\n${USAGE}`);
        options.sharpCache = value === 'on';
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

/** '150x150,800x600:inside' -> boxes; the fit defaults to cover (the hook's default). */
export function parseSizes(value: string): BenchSize[] {
  const sizes = value.split(',').map((item) => {
    const match = /^(\d+)x(\d+)(?::(cover|inside))?$/.exec(item.trim());
    if (match === null) throw new Error(`--sizes: '${item}' is not WIDTHxHEIGHT[:cover|:inside]\n${USAGE}`);
    return { width: Number(match[1]), height: Number(match[2]), fit: (match[3] ?? 'cover') as BenchSize['fit'] };
  });
  const names = new Set(sizes.map((s) => `${s.width}x${s.height}`));
  if (names.size !== sizes.length) throw new Error(`--sizes: a WIDTHxHEIGHT is listed twice\n${USAGE}`);
  return sizes;
}

/** The sizes as the command line writes them. */
export function formatSizes(sizes: readonly BenchSize[]): string {
  return sizes.map((s) => `${s.width}x${s.height}:${s.fit}`).join(',');
}

function positiveInt(flag: string, value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 1) throw new Error(`${flag} must be a positive integer, got '${value}'\n${USAGE}`);
  return n;
}
