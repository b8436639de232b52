import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openHooksDatabase } from '../../../src/daemon/hooks/hooks-db.js';
import { openJobStore } from '../../../src/daemon/hooks/job-store.js';
import type { CrashChildArgs } from './support/crash-child.js';

const CHILD = join(import.meta.dirname, 'support/crash-child.ts');
const FILES = 200;
const CONCURRENCY = 4;
const STEPS = ['stage', 'transform', 'finish'];

/** The paths of the drop folder and what each holds. */
function corpus(): Map<string, string> {
  const files = new Map<string, string>();
  for (let i = 0; i < FILES; i++) files.set(`d${i % 7}/file-${String(i).padStart(3, '0')}.txt`, `file ${i}\n`.repeat(1 + ((i * 37) % 200)));
  return files;
}

/**
 * Runs the child; SIGKILLs it once it printed `killAfter` lines `begin
 * transform ...` (undefined: lets it run until it exits by itself, after
 * `idle`). Resolves to the lines it printed.
 */
function runChild(args: CrashChildArgs, killAfter?: number): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, JSON.stringify(args)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let transforms = 0;
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      transforms = stdout.split('\n').filter((line) => line.startsWith('begin transform ')).length;
      if (killAfter !== undefined && transforms >= killAfter) child.kill('SIGKILL');
    });
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      const lines = stdout.split('\n').filter((line) => line !== '');
      if (killAfter !== undefined && signal !== 'SIGKILL') return reject(new Error(`child was not killed (code ${code}):\n${stderr}`));
      if (killAfter === undefined && (code !== 0 || !lines.includes('idle'))) return reject(new Error(`child failed (code ${code}, ${signal}):\n${stderr}`));
      resolve(lines);
    });
  });
}

/** How many times each path appears in a per-step log. */
async function logCounts(logDir: string, name: string): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  const text = await readFile(join(logDir, `${name}.log`), 'utf8').catch(() => '');
  for (const line of text.split('\n')) if (line !== '') counts.set(line, (counts.get(line) ?? 0) + 1);
  return counts;
}

describe('hook jobs survive SIGKILL: every file processed exactly once', { timeout: 120_000 }, () => {
  const folders: string[] = [];
  afterEach(async () => {
    await Promise.all(folders.splice(0).map((folder) => rm(folder, { recursive: true, force: true })));
  });

  it.each([[[40]], [[5, 120]]])('kills after %j transform starts, restarts, and finds every job done once', async (killPoints: number[]) => {
    const base = await mkdtemp(join(tmpdir(), 'storaged-hook-crash-'));
    folders.push(base);
    const args: CrashChildArgs = {
      cacheDir: join(base, 'cache'),
      root: join(base, 'drop'),
      stagingDir: join(base, 'staging'),
      logDir: join(base, 'logs'),
      outDir: join(base, 'out'),
      concurrency: CONCURRENCY,
      slowMs: 15,
    };
    const files = corpus();
    for (const [path, content] of files) {
      await mkdir(join(args.root, path, '..'), { recursive: true });
      await writeFile(join(args.root, path), content);
    }
    await mkdir(args.logDir, { recursive: true });

    for (const killAfter of killPoints) {
      await runChild(args, killAfter);
      // The kill caught jobs mid-step: they are still 'running' in the record.
      const db = openHooksDatabase(args.cacheDir);
      try {
        const unfinished = openJobStore(db).unfinished();
        expect(unfinished.filter((job) => job.state === 'running').length).toBeGreaterThan(0);
        expect(unfinished.filter((job) => job.state === 'running').length).toBeLessThanOrEqual(CONCURRENCY);
      } finally {
        db.close();
      }
    }
    const lines = await runChild(args);
    expect(lines.at(-1)).toBe('idle');

    const db = openHooksDatabase(args.cacheDir);
    try {
      const store = openJobStore(db);
      expect(store.unfinishedCount()).toBe(0);
      for (const [path, content] of files) {
        const jobs = store.jobsOf('drop', path);
        expect(jobs, path).toHaveLength(1);
        const [job] = jobs;
        expect(job?.state, path).toBe('done');
        expect(job?.results.map((result) => result.step), path).toEqual(STEPS);
        const sha256 = createHash('sha256').update(content).digest('hex');
        expect(job?.results[1]?.detail, path).toEqual({ sha256 });
        expect(await readFile(join(args.outDir, `${path}.out`), 'utf8'), path).toBe(`${sha256}\n`);
      }
      expect(store.counts().get('drop')).toMatchObject({ done: FILES, queued: 0, running: 0, failed: 0, superseded: 0 });
    } finally {
      db.close();
    }
    // Exactly one output per file, nothing else; no staging folder left behind.
    const outputs = (await readdir(args.outDir, { recursive: true, withFileTypes: true })).filter((entry) => entry.isFile());
    expect(outputs).toHaveLength(FILES);
    expect(await readdir(args.stagingDir)).toEqual([]);

    // Every step's effect happened for every file; a repeated effect only for steps in flight at a kill.
    const repeated = new Set<string>();
    for (const name of [...STEPS, 'release']) {
      const counts = await logCounts(args.logDir, name);
      expect(counts.size, name).toBe(FILES);
      for (const [path, count] of counts) {
        expect(count, `${name} ${path}`).toBeLessThanOrEqual(1 + killPoints.length);
        if (count > 1) repeated.add(`${name} ${path}`);
      }
    }
    expect(repeated.size).toBeLessThanOrEqual(CONCURRENCY * killPoints.length);
  });
});
