import { FsError } from '../errors.js';

/**
 * A config problem: code EINVAL, plus the file and the dotted key at fault
 * (e.g. `disks.s3.bucket`). The message reads `FILE: KEY: what is wrong`.
 */
export class ConfigError extends FsError {
  readonly file: string;
  readonly key: string;

  constructor(file: string, key: string, problem: string) {
    super('EINVAL', `${file}: ${key === '' ? '' : `${key}: `}${problem}`, { op: 'config', path: file });
    this.name = 'ConfigError';
    this.file = file;
    this.key = key;
  }
}

/** Several config problems found in one pass; `problems` holds each one. */
export class ConfigErrors extends ConfigError {
  readonly problems: ConfigError[];

  constructor(problems: ConfigError[]) {
    const first = problems[0]!;
    super(first.file, first.key, problems.length === 1 ? stripPrefix(first) : `${stripPrefix(first)} (and ${problems.length - 1} more)`);
    this.message = problems.map((p) => p.message).join('\n');
    this.problems = problems;
  }
}

function stripPrefix(err: ConfigError): string {
  const prefix = `${err.file}: ${err.key === '' ? '' : `${err.key}: `}`;
  return err.message.startsWith(prefix) ? err.message.slice(prefix.length) : err.message;
}

/** The closest candidate by edit distance, when it is close enough to be a typo. */
export function suggest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const d = editDistance(word.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) {
      bestDistance = d;
      best = candidate;
    }
  }
  return best !== undefined && bestDistance <= Math.max(1, Math.floor(word.length / 3)) ? best : undefined;
}

/** Edit distance counting an adjacent transposition ('lcoal' -> 'local') as one edit. */
function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, d[i - 2]![j - 2]! + 1);
      d[i]![j] = best;
    }
  }
  return d[a.length]![b.length]!;
}
