import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FsError } from '../../../src/core/errors.js';
import type { Database } from '../../../src/daemon/db.js';
import { createDispatcher, MAX_STEP_ATTEMPTS, type Dispatcher, type DispatcherOptions } from '../../../src/daemon/hooks/dispatcher.js';
import { openHooksDatabase } from '../../../src/daemon/hooks/hooks-db.js';
import { openJobStore, type JobStore } from '../../../src/daemon/hooks/job-store.js';
import type { HookJob, Step, StepContext, StepOutcome } from '../../../src/daemon/hooks/types.js';
import { TempFolder } from './support/temp-folder.js';

const silent = pino({ level: 'silent' });

/** Copies the folder's file into `<workDir>/source` (the real stage step's job). */
const stage: Step = {
  name: 'stage',
  async run(ctx) {
    const version = await ctx.folder.stat(ctx.job.path);
    if (version === undefined) return { kind: 'superseded', reason: 'gone' };
    const target = join(ctx.workDir, 'source');
    await pipeline(await ctx.folder.read(ctx.job.path), createWriteStream(target), { signal: ctx.signal });
    return { kind: 'next', output: target, detail: { bytes: (await stat(target)).size } };
  },
};

/** sha256 of the input. */
const hash: Step = {
  name: 'hash',
  async run(ctx) {
    const digest = createHash('sha256');
    await pipeline(createReadStream(ctx.input), digest);
    return { kind: 'next', detail: { sha256: digest.digest('hex') } };
  },
};

/** An in-place transform: upper-cases the input into `after-upper`, and replaces the folder's file with it. */
const upper: Step = {
  name: 'upper',
  async run(ctx) {
    const output = join(ctx.workDir, 'after-upper');
    await writeFile(output, (await readFile(ctx.input, 'utf8')).toUpperCase());
    await ctx.folder.replace(ctx.job.path, output);
    const written = await ctx.folder.stat(ctx.job.path);
    return { kind: 'next', output, detail: { written } };
  },
};

/** Rejects content containing 'BAD'. */
const rules: Step = {
  name: 'rules',
  async run(ctx) {
    const text = await readFile(ctx.input, 'utf8');
    if (text.includes('BAD')) return { kind: 'reject', rule: 'content', reason: 'the file says BAD', detail: { found: 'BAD' } };
    return { kind: 'next' };
  },
};

/** A scanner that quarantines 'VIRUS' and throws `down` while it is set. */
function scanner(state: { down?: FsError; calls: number }): Step {
  return {
    name: 'scan',
    async run(ctx) {
      state.calls++;
      if (state.down !== undefined) throw state.down;
      const text = await readFile(ctx.input, 'utf8');
      return text.includes('VIRUS') ? { kind: 'quarantine', signature: 'Test.Virus.UNOFFICIAL' } : { kind: 'next', detail: { verdict: 'clean' } };
    },
  };
}

/** A step that runs `behave` (counting its calls) then passes. */
function scripted(name: string, behave: (call: number, ctx: StepContext) => Promise<void> | void): Step & { calls: number[] } {
  const step = {
    name,
    calls: [] as number[],
    async run(ctx: StepContext): Promise<StepOutcome> {
      step.calls.push(Date.now());
      await behave(step.calls.length, ctx);
      return { kind: 'next' };
    },
  };
  return step;
}

async function waitFor(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

describe('hook dispatcher', () => {
  let base: string;
  let db: Database;
  let store: JobStore;
  let folder: TempFolder;
  let dirs: { stagingDir: string; rejectedDir: string; quarantineDir: string };
  const running: Dispatcher[] = [];
  let changes: HookJob[];

  beforeEach(async () => {
    base = await mkdtemp(join(tmpdir(), 'storaged-dispatch-'));
    await mkdir(join(base, 'inbox'));
    db = openHooksDatabase(join(base, 'cache'));
    store = openJobStore(db);
    folder = new TempFolder('inbox', join(base, 'inbox'));
    dirs = { stagingDir: join(base, 'staging'), rejectedDir: join(base, 'rejected'), quarantineDir: join(base, 'quarantine') };
    changes = [];
  });
  afterEach(async () => {
    await Promise.all(running.splice(0).map((dispatcher) => dispatcher.stop()));
    db.close();
    await rm(base, { recursive: true, force: true });
  });

  function dispatcher(steps: readonly Step[], options: Partial<DispatcherOptions> = {}): Dispatcher {
    const created = createDispatcher({
      store,
      folders: () => folder,
      steps: () => steps,
      destinations: () => dirs,
      stagingDir: dirs.stagingDir,
      concurrency: 2,
      retryDelayMs: 1,
      maxRetryDelayMs: 5,
      logger: silent,
      onChange: (job) => changes.push(job),
      ...options,
    });
    running.push(created);
    return created;
  }

  async function drop(path: string, content: string): Promise<{ path: string; size: number; mtimeMs: number }> {
    await mkdir(dirname(folder.local(path)), { recursive: true });
    await writeFile(folder.local(path), content);
    return (await folder.stat(path))!;
  }

  it('runs the steps in order from the staged copy, records each, releases the file and cleans its staging folder', async () => {
    const engine = dispatcher([stage, hash, upper, hash]);
    await engine.start();
    const job = engine.submit('inbox', await drop('docs/a.txt', 'hello'));
    expect(store.get(job.id)?.state).toBe('queued'); // recorded before anything ran
    await engine.idle();
    const done = store.get(job.id)!;
    const sha = (text: string) => createHash('sha256').update(text).digest('hex');
    expect(done).toMatchObject({ state: 'done', step: 4, attempts: 0 });
    expect(done.results.map((result) => result.step)).toEqual(['stage', 'hash', 'upper', 'hash']);
    expect(done.results[1]?.detail).toEqual({ sha256: sha('hello') });
    expect(done.results[3]?.detail).toEqual({ sha256: sha('HELLO') });
    expect(done.input).toBe(join(dirs.stagingDir, String(job.id), 'after-upper'));
    expect(await readFile(folder.local('docs/a.txt'), 'utf8')).toBe('HELLO');
    expect(folder.released).toEqual(['docs/a.txt']);
    expect(await readdir(dirs.stagingDir)).toEqual([]);
    expect(changes.filter((change) => change.id === job.id).map((change) => `${change.state}:${change.step}`)).toEqual([
      'queued:0',
      'running:0',
      'running:1',
      'running:2',
      'running:3',
      'running:4',
      'done:4',
    ]);
  });

  it('submitting a done version again runs nothing', async () => {
    const engine = dispatcher([stage, hash]);
    await engine.start();
    const version = await drop('a.txt', 'x');
    const job = engine.submit('inbox', version);
    await engine.idle();
    expect(engine.submit('inbox', version)).toMatchObject({ id: job.id, state: 'done' });
    await engine.idle();
    expect(store.jobsOf('inbox', 'a.txt')).toHaveLength(1);
  });

  it('retries a transient failure with a growing delay, then passes (results recorded once)', async () => {
    const flaky = scripted('thumbnails', (call) => {
      if (call <= 3) throw new FsError('EIO', `disk hiccup ${call}`);
    });
    const engine = dispatcher([stage, flaky], { retryDelayMs: 40, maxRetryDelayMs: 2000 });
    await engine.start();
    const job = engine.submit('inbox', await drop('a.txt', 'x'));
    await waitFor('the first failure', () => (store.get(job.id)?.attempts ?? 0) >= 1);
    expect(engine.status()[0]?.failing).toEqual([
      expect.objectContaining({ id: job.id, path: 'a.txt', step: 1, attempts: 1, lastError: expect.objectContaining({ code: 'EIO' }) }),
    ]);
    await engine.idle();
    const gaps = flaky.calls.slice(1).map((at, i) => at - flaky.calls[i]!);
    expect(gaps).toHaveLength(3);
    // 40, 80, 160 ms +-10%: each gap clearly longer than the one before.
    expect(gaps[0]).toBeGreaterThanOrEqual(34);
    expect(gaps[1]!).toBeGreaterThan(gaps[0]! * 1.4);
    expect(gaps[2]!).toBeGreaterThan(gaps[1]! * 1.4);
    const done = store.get(job.id)!;
    expect(done).toMatchObject({ state: 'done', attempts: 0, lastError: { code: 'EIO', message: 'disk hiccup 3' } });
    expect(done.results.map((result) => result.step)).toEqual(['stage', 'thumbnails']);
    expect(engine.status()[0]?.failing).toEqual([]);
  });

  it('a scan failure is retried forever and never passes the job; the file is held until the scanner is back', async () => {
    const state: { down?: FsError; calls: number } = { down: new FsError('ECONNREFUSED', 'clamd is down'), calls: 0 };
    const after = scripted('metadata', () => undefined);
    const engine = dispatcher([stage, scanner(state), after]);
    await engine.start();
    const job = engine.submit('inbox', await drop('a.txt', 'clean'));
    await waitFor('many scan attempts', () => state.calls >= MAX_STEP_ATTEMPTS * 4);
    const waiting = store.get(job.id)!;
    expect(['queued', 'running']).toContain(waiting.state);
    expect(waiting.step).toBe(1);
    expect(waiting.lastError?.code).toBe('ECONNREFUSED');
    expect(after.calls).toEqual([]);
    expect(folder.released).toEqual([]);
    state.down = undefined;
    await engine.idle();
    expect(store.get(job.id)).toMatchObject({ state: 'done', attempts: 0 });
    expect(after.calls).toHaveLength(1);
    expect(folder.released).toEqual(['a.txt']);
  });

  it(`a transient failure of another step ends the job 'failed' after ${MAX_STEP_ATTEMPTS} attempts; the file stays and is released`, async () => {
    const broken = scripted('command', () => {
      throw new FsError('ETIMEDOUT', 'tagger timed out');
    });
    const engine = dispatcher([stage, broken]);
    await engine.start();
    const job = engine.submit('inbox', await drop('a.txt', 'x'));
    await engine.idle();
    expect(broken.calls).toHaveLength(MAX_STEP_ATTEMPTS);
    expect(store.get(job.id)).toMatchObject({
      state: 'failed',
      outcome: { step: 'command', code: 'ETIMEDOUT', message: 'tagger timed out' },
      lastError: { code: 'ETIMEDOUT' },
    });
    expect(await readFile(folder.local('a.txt'), 'utf8')).toBe('x');
    expect(folder.released).toEqual(['a.txt']);
    expect(await readdir(dirs.stagingDir)).toEqual([]);
  });

  it("a permanent failure (another FsError code, or not an FsError) ends the job 'failed' at once", async () => {
    const denied = scripted('command', () => {
      throw new FsError('EACCES', 'permission denied');
    });
    const buggy = scripted('module', () => {
      throw new TypeError('handler is not a function');
    });
    const first = dispatcher([stage, denied]);
    await first.start();
    const a = first.submit('inbox', await drop('a.txt', 'a'));
    await first.idle();
    expect(denied.calls).toHaveLength(1);
    expect(store.get(a.id)).toMatchObject({ state: 'failed', outcome: { step: 'command', code: 'EACCES' } });
    await first.stop();
    const second = dispatcher([stage, buggy]);
    await second.start();
    const b = second.submit('inbox', await drop('b.txt', 'b'));
    await second.idle();
    expect(buggy.calls).toHaveLength(1);
    expect(store.get(b.id)).toMatchObject({ state: 'failed', outcome: { step: 'module', code: 'TypeError', message: 'handler is not a function' } });
    expect(folder.released).toEqual(['a.txt', 'b.txt']);
    expect(await readFile(folder.local('b.txt'), 'utf8')).toBe('b');
  });

  it('a failed job whose scan never passed does not release its file (never uploaded unscanned)', async () => {
    const state = { calls: 0 };
    const broken = scripted('rules', () => {
      throw new FsError('EINVAL', 'bad rule');
    });
    const engine = dispatcher([stage, broken, scanner(state)]);
    await engine.start();
    const job = engine.submit('inbox', await drop('a.txt', 'x'));
    await engine.idle();
    expect(store.get(job.id)?.state).toBe('failed');
    expect(folder.released).toEqual([]);
    expect(state.calls).toBe(0);
  });

  it('a rejected file moves to the rejected folder with its reason, never deleted; later steps do not run', async () => {
    const after = scripted('thumbnails', () => undefined);
    const engine = dispatcher([stage, rules, after]);
    await engine.start();
    const job = engine.submit('inbox', await drop('2026/scan.txt', 'this is BAD content'));
    await engine.idle();
    const where = join(dirs.rejectedDir, '2026/scan.txt');
    expect(store.get(job.id)).toMatchObject({
      state: 'rejected',
      outcome: { rule: 'content', reason: 'the file says BAD', detail: { found: 'BAD' }, setAside: where },
    });
    expect(await readFile(where, 'utf8')).toBe('this is BAD content');
    expect(await folder.stat('2026/scan.txt')).toBeUndefined();
    const reason = JSON.parse(await readFile(`${where}.reason.json`, 'utf8')) as Record<string, unknown>;
    expect(reason).toMatchObject({ watch: 'inbox', path: '2026/scan.txt', rule: 'content', reason: 'the file says BAD', detail: { found: 'BAD' } });
    expect(Number.isNaN(Date.parse(String(reason.at)))).toBe(false);
    expect(after.calls).toEqual([]);
    expect(folder.released).toEqual(['2026/scan.txt']);
    expect(await readdir(dirs.stagingDir)).toEqual([]);
  });

  it('an infected file goes to quarantine with the signature in its reason file', async () => {
    const after = scripted('thumbnails', () => undefined);
    const engine = dispatcher([stage, rules, scanner({ calls: 0 }), after]);
    await engine.start();
    const job = engine.submit('inbox', await drop('eicar.txt', 'VIRUS inside'));
    await engine.idle();
    const where = join(dirs.quarantineDir, 'eicar.txt');
    expect(store.get(job.id)).toMatchObject({ state: 'quarantined', outcome: { signature: 'Test.Virus.UNOFFICIAL', setAside: where } });
    expect(await readFile(where, 'utf8')).toBe('VIRUS inside');
    expect(JSON.parse(await readFile(`${where}.reason.json`, 'utf8'))).toMatchObject({ watch: 'inbox', path: 'eicar.txt', signature: 'Test.Virus.UNOFFICIAL' });
    expect(store.get(job.id)?.results.map((result) => result.step)).toEqual(['stage', 'rules']);
    expect(after.calls).toEqual([]);
  });

  it('a setAside repeated after a crash finds the earlier move and still ends the job rejected', async () => {
    const engine = dispatcher([stage, rules]);
    const version = await drop('a.txt', 'BAD');
    const job = store.submit('inbox', version);
    // A run that moved the file, then "crashed" before recording the end: the job is left running at its step.
    store.start(job.id);
    await mkdir(join(dirs.stagingDir, String(job.id)), { recursive: true });
    await writeFile(join(dirs.stagingDir, String(job.id), 'source'), 'BAD');
    store.finishStep(job.id, 0, { step: 'stage', ms: 1 }, join(dirs.stagingDir, String(job.id), 'source'));
    await folder.setAside('a.txt', dirs.rejectedDir);
    await engine.start();
    await engine.idle();
    expect(store.get(job.id)).toMatchObject({ state: 'rejected', outcome: { setAside: join(dirs.rejectedDir, 'a.txt') } });
    expect(await readdir(dirs.rejectedDir)).toEqual(['a.txt', 'a.txt.reason.json']);
  });

  it('resumes a job left running by a crash at its recorded step', async () => {
    const counting = { stage: 0 };
    const countingStage: Step = { name: 'stage', run: (ctx) => (counting.stage++, stage.run(ctx)) };
    const version = await drop('a.txt', 'abc');
    const job = store.submit('inbox', version);
    store.start(job.id);
    const staged = join(dirs.stagingDir, String(job.id), 'source');
    await mkdir(dirname(staged), { recursive: true });
    await writeFile(staged, 'abc');
    store.finishStep(job.id, 0, { step: 'stage', ms: 1 }, staged);
    const engine = dispatcher([countingStage, hash]);
    await engine.start();
    await engine.idle();
    expect(counting.stage).toBe(0);
    expect(store.get(job.id)?.results.map((result) => result.step)).toEqual(['stage', 'hash']);
    expect(store.get(job.id)?.state).toBe('done');
  });

  it('stop() aborts the running steps through their signal; the job stays queued and a new engine finishes it', async () => {
    let aborted = 0;
    const slow = scripted('command', async (_call, ctx) => {
      try {
        await sleep(30_000, undefined, { signal: ctx.signal });
      } catch (err) {
        aborted++;
        throw err;
      }
    });
    const engine = dispatcher([stage, slow]);
    await engine.start();
    const job = engine.submit('inbox', await drop('a.txt', 'x'));
    await waitFor('the slow step', () => slow.calls.length === 1);
    expect(engine.status()[0]?.running).toBe(1);
    const before = Date.now();
    await engine.stop();
    expect(Date.now() - before).toBeLessThan(2000);
    expect(aborted).toBe(1);
    expect(store.get(job.id)).toMatchObject({ state: 'queued', step: 1, attempts: 0 });
    expect(folder.released).toEqual([]);
    await engine.idle(); // resolves once stopped
    const quick = scripted('command', () => undefined);
    const next = dispatcher([stage, quick]);
    await next.start();
    await next.idle();
    expect(store.get(job.id)).toMatchObject({ state: 'done', results: [{ step: 'stage' }, { step: 'command' }] });
  });

  it('a newer version aborts the running job of the path; the new one runs and the old staging folder goes', async () => {
    let aborted = 0;
    const slow = scripted('command', async (call, ctx) => {
      if (call > 1) return;
      try {
        await sleep(30_000, undefined, { signal: ctx.signal });
      } catch (err) {
        aborted++;
        throw err;
      }
    });
    const engine = dispatcher([stage, slow, hash]);
    await engine.start();
    const old = engine.submit('inbox', await drop('a.txt', 'old'));
    await waitFor('the slow step', () => slow.calls.length === 1);
    await writeFile(folder.local('a.txt'), 'newer!');
    await utimes(folder.local('a.txt'), new Date(), new Date(Date.now() + 5000));
    const fresh = engine.submit('inbox', (await folder.stat('a.txt'))!);
    await engine.idle();
    expect(aborted).toBe(1);
    expect(store.get(old.id)?.state).toBe('superseded');
    expect(store.get(fresh.id)).toMatchObject({ state: 'done' });
    expect(store.get(fresh.id)?.results[2]?.detail).toEqual({ sha256: createHash('sha256').update('newer!').digest('hex') });
    expect(await readdir(dirs.stagingDir)).toEqual([]);
  });

  it('status() counts jobs by state per watch with the failing ones; concurrency is bounded', async () => {
    let active = 0;
    let peak = 0;
    const busy = scripted('command', async (_call, ctx) => {
      active++;
      peak = Math.max(peak, active);
      await sleep(20);
      active--;
      if (ctx.job.path === 'flaky.txt') throw new FsError('EAGAIN', 'throttled');
    });
    const engine = dispatcher([stage, rules, busy], { concurrency: 3, retryDelayMs: 60_000, maxRetryDelayMs: 60_000 });
    await engine.start();
    for (let i = 0; i < 8; i++) engine.submit('inbox', await drop(`ok-${i}.txt`, `fine ${i}`));
    engine.submit('inbox', await drop('bad.txt', 'BAD'));
    const flaky = engine.submit('inbox', await drop('flaky.txt', 'fine'));
    await waitFor('all but the flaky job', () => store.unfinishedCount() === 1 && store.get(flaky.id)?.state === 'queued');
    const [status] = engine.status();
    expect(status).toMatchObject({
      watch: 'inbox',
      counts: { queued: 1, running: 0, done: 8, rejected: 1, quarantined: 0, failed: 0, superseded: 0 },
      running: 0,
      failing: [{ id: flaky.id, path: 'flaky.txt', step: 2, attempts: 1, lastError: expect.objectContaining({ code: 'EAGAIN' }) }],
    });
    expect(status?.failing[0]?.nextAtMs).toBeGreaterThan(Date.now() + 50_000);
    expect(peak).toBeLessThanOrEqual(3);
    expect(peak).toBeGreaterThan(1);
  });
});
