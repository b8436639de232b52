import { spawn } from 'node:child_process';

/** What the reader processes saw while a file was being renamed over. */
export interface ReaderReport {
  reads: number;
  /** Reads or stats that found the name missing. */
  missing: number;
  /** Reads whose content was not one complete version. */
  torn: number;
  /** Other errors, by code. */
  errors: Record<string, number>;
  /** Distinct versions seen. */
  versions: number;
}

const READER_SCRIPT = `
const fsp = require('node:fs/promises');
const [path, pattern, loops] = [process.argv[1], new RegExp(process.argv[2]), Number(process.argv[3])];
let stop = false;
process.stdin.on('end', () => { stop = true; });
process.stdin.resume();
const report = { reads: 0, missing: 0, torn: 0, errors: {}, versions: 0 };
const seen = new Set();
async function loop(useStat) {
  while (!stop) {
    try {
      if (useStat) { await fsp.stat(path); continue; }
      const text = (await fsp.readFile(path)).toString();
      report.reads++;
      const m = pattern.exec(text);
      if (!m) report.torn++; else seen.add(m[1]);
    } catch (err) {
      if (err.code === 'ENOENT') report.missing++;
      else report.errors[err.code || String(err)] = (report.errors[err.code || String(err)] || 0) + 1;
    }
  }
}
(async () => {
  process.stdout.write('ready\\n');
  await Promise.all(Array.from({ length: loops }, (_, i) => loop(i % 2 === 1)));
  report.versions = seen.size;
  process.stdout.write(JSON.stringify(report) + '\\n');
})();
`;

/**
 * Starts a child process that reads (and stats) `path` in `loops` concurrent
 * loops until stop() is called; every read must match `contentPattern`
 * (group 1 names the version). Resolves once the child is running.
 */
export async function startRenameReaders(path: string, contentPattern: string, loops = 4): Promise<{ stop(): Promise<ReaderReport> }> {
  const child = spawn(process.execPath, ['-e', READER_SCRIPT, path, contentPattern, String(loops)], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr.on('data', (c: Buffer) => (err += c.toString()));
  const closed = new Promise<void>((resolve) => child.on('close', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      if (out.startsWith('ready\n')) resolve();
    });
    child.on('error', reject);
    void closed.then(() => reject(new Error(`reader exited early: ${err}`)));
  });
  return {
    async stop() {
      child.stdin.end();
      await closed;
      const line = out.split('\n').filter(Boolean).pop() ?? '';
      if (!line.startsWith('{')) throw new Error(`reader gave no report: ${out} ${err}`);
      return JSON.parse(line) as ReaderReport;
    },
  };
}
