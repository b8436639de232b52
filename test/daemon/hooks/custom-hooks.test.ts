import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { FsError } from '../../../src/core/errors.js';
import { LocalDropFolder } from '../../../src/daemon/hooks/local-folder.js';
import { commandStep, HOOK_FAILED_CODE, STDOUT_DETAIL_BYTES, type CommandHookInput } from '../../../src/daemon/hooks/steps/command.js';
import { moduleStep } from '../../../src/daemon/hooks/steps/module.js';
import type { HookJob, Step, StepContext, StepOutcome, StepResult } from '../../../src/daemon/hooks/types.js';

const temp = mkdtempSync(join(tmpdir(), 'storaged-custom-hooks-'));
const fixtures = join(import.meta.dirname, 'fixtures');
const commandFixture = join(fixtures, 'hook-command.mjs');
const moduleFixture = join(fixtures, 'hook-module.ts');
const node = process.execPath;
const folderRoot = join(temp, 'inbox');
const staged = join(temp, 'staging', '7', 'source');
const metadataDetail = { watch: 'inbox', path: 'photos/beach.jpg', size: 11, mime: 'image/jpeg', sha256: 'a'.repeat(64), width: 4, height: 3 };
const results: StepResult[] = [
  { step: 'stage', ms: 1, detail: { staged } },
  { step: 'metadata', ms: 2, detail: metadataDetail },
];
let pidFiles = 0;

mkdirSync(folderRoot, { recursive: true });
mkdirSync(join(temp, 'staging', '7'), { recursive: true });
writeFileSync(staged, 'hello world');

afterAll(() => rmSync(temp, { recursive: true, force: true }));

/** The context a dispatcher gives the step of job 7 (file photos/beach.jpg, staged copy of 11 bytes). */
function context(signal: AbortSignal = new AbortController().signal): StepContext {
  const job: HookJob = {
    id: 7,
    watch: 'inbox',
    path: 'photos/beach.jpg',
    size: 11,
    mtimeMs: 1_700_000_000_000,
    state: 'running',
    step: 2,
    attempts: 0,
    nextAtMs: 0,
    input: staged,
    results,
    createdMs: 1,
    updatedMs: 2,
  };
  return { job, folder: new LocalDropFolder('inbox', folderRoot), input: staged, workDir: join(temp, 'staging', '7'), signal, logger: pino({ level: 'silent' }) };
}

/** What the step's run rejects with (fails the test when it resolves). */
async function failure(step: Step, ctx = context()): Promise<FsError> {
  let outcome: StepOutcome;
  try {
    outcome = await step.run(ctx);
  } catch (err) {
    expect(err).toBeInstanceOf(FsError);
    return err as FsError;
  }
  throw new Error(`step ${step.name} passed: ${JSON.stringify(outcome)}`);
}

/** The detail of a 'next' outcome (fails the test for any other outcome). */
function detailOf<T = Record<string, unknown>>(outcome: StepOutcome): T {
  expect(outcome.kind).toBe('next');
  return (outcome as { detail?: unknown }).detail as T;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function waitFor(file: string, timeoutMs = 10_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  while (!existsSync(file) || readFileSync(file, 'utf8') === '') {
    if (Date.now() > deadline) throw new Error(`${file} did not appear`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return readFileSync(file, 'utf8');
}

function newPidFile(): string {
  return join(temp, `child-${++pidFiles}.pid`);
}

describe('command hook', () => {
  it('gets the staged path as its last argument, the JSON input on stdin and the env; a JSON object on stdout is the output', async () => {
    const outcome = await commandStep({ run: [node, commandFixture, 'json'], timeoutMs: 20_000 }, 'tagger').run(context());
    const detail = detailOf<{ ms: number; exitCode: number; output: Record<string, unknown>; stdout?: string }>(outcome);
    expect(detail.exitCode).toBe(0);
    expect(detail.ms).toBeGreaterThan(0);
    expect(detail.stdout).toBeUndefined();
    const { stdin, args, env, stagedSize } = detail.output as { stdin: CommandHookInput; args: string[]; env: Record<string, string>; stagedSize: number };
    expect(args).toEqual([staged]);
    expect(stagedSize).toBe(11);
    expect(env).toEqual({ watch: 'inbox', path: 'photos/beach.jpg', jobId: '7' });
    expect(stdin).toEqual({
      watch: 'inbox',
      path: 'photos/beach.jpg',
      jobId: 7,
      stagedPath: staged,
      size: 11,
      mtimeMs: 1_700_000_000_000,
      results,
      metadata: metadataDetail,
    });
  });

  it('plain stdout is kept as text, its first 4 KiB', async () => {
    const short = await commandStep({ run: [node, commandFixture, 'text', '1'], timeoutMs: 20_000 }).run(context());
    expect(short).toMatchObject({ kind: 'next', detail: { exitCode: 0, stdout: "line 0 of the tagger's report\n" } });
    const long = await commandStep({ run: [node, commandFixture, 'text', '2000'], timeoutMs: 20_000 }).run(context());
    const detail = detailOf<{ stdout: string; stdoutTruncated: boolean }>(long);
    expect(detail.stdout).toHaveLength(STDOUT_DETAIL_BYTES);
    expect(detail.stdout.startsWith('line 0 ')).toBe(true);
    expect(detail.stdoutTruncated).toBe(true);
  });

  it('a non-zero exit fails permanently with the exit code and stderr', async () => {
    const err = await failure(commandStep({ run: [node, commandFixture, 'fail'], timeoutMs: 20_000 }, 'tagger'));
    expect(err.code).toBe(HOOK_FAILED_CODE);
    expect(err.message).toContain('exited with code 3');
    expect(err.message).toContain('cannot read the picture');
  });

  it('a program that does not exist fails ENOENT', async () => {
    const err = await failure(commandStep({ run: [join(temp, 'no-such-program')], timeoutMs: 5000 }));
    expect(err.code).toBe('ENOENT');
  });

  it('the timeout kills a sleeping child (ETIMEDOUT) and the step returns once it is gone', async () => {
    const pidFile = newPidFile();
    const step = commandStep({ run: [node, commandFixture, 'sleep', pidFile], timeoutMs: 3000 });
    const started = Date.now();
    const err = await failure(step);
    expect(err.code).toBe('ETIMEDOUT');
    expect(Date.now() - started).toBeLessThan(10_000);
    const pid = Number(await waitFor(pidFile));
    expect(pid).toBeGreaterThan(0);
    expect(alive(pid)).toBe(false);
  });

  it('a child ignoring SIGTERM gets SIGKILL after the grace period', async () => {
    const pidFile = newPidFile();
    const step = commandStep({ run: [node, commandFixture, 'stubborn', pidFile], timeoutMs: 3000, killGraceMs: 300 });
    const err = await failure(step);
    expect(err.code).toBe('ETIMEDOUT');
    const pid = Number(await waitFor(pidFile));
    expect(alive(pid)).toBe(false);
    expect(readFileSync(`${pidFile}.term`, 'utf8')).toBe('got SIGTERM');
  });

  it("the job's signal kills the child too (ECANCELED)", async () => {
    const pidFile = newPidFile();
    const controller = new AbortController();
    const running = failure(commandStep({ run: [node, commandFixture, 'sleep', pidFile], timeoutMs: 60_000 }), context(controller.signal));
    const pid = Number(await waitFor(pidFile));
    expect(alive(pid)).toBe(true);
    controller.abort();
    const err = await running;
    expect(err.code).toBe('ECANCELED');
    expect(alive(pid)).toBe(false);
  });
});

describe('module hook', () => {
  it('imports a TypeScript module and records what its handler returns', async () => {
    const outcome = await moduleStep({ path: moduleFixture, timeoutMs: 20_000 }, 'tag').run(context());
    expect(outcome).toMatchObject({
      kind: 'next',
      detail: { tags: ['holiday', 'beach'], bytes: 11, path: 'photos/beach.jpg', watch: 'inbox', jobId: 7, steps: ['stage', 'metadata'] },
    });
    expect(detailOf<{ ms: number }>(outcome).ms).toBeGreaterThanOrEqual(0);
  });

  it('imports the module once per step', async () => {
    const step = moduleStep({ path: moduleFixture, exportName: 'evaluations', timeoutMs: 20_000 });
    const first = await step.run(context());
    const second = await step.run(context());
    expect(detailOf(first)).toMatchObject({ evaluations: expect.any(Number) });
    expect(detailOf<{ evaluations: number }>(second).evaluations).toBe(detailOf<{ evaluations: number }>(first).evaluations);
  });

  it('a handler returning nothing records only the time', async () => {
    const outcome = await moduleStep({ path: moduleFixture, exportName: 'quiet', timeoutMs: 20_000 }).run(context());
    expect(Object.keys(detailOf(outcome))).toEqual(['ms']);
  });

  it('a throwing handler fails the job; an error with a transient code keeps it', async () => {
    const broken = await failure(moduleStep({ path: moduleFixture, exportName: 'broken', timeoutMs: 20_000 }));
    expect(broken.code).toBe(HOOK_FAILED_CODE);
    expect(broken.message).toContain('the tagging service said no');
    const throttled = await failure(moduleStep({ path: moduleFixture, exportName: 'throttled', timeoutMs: 20_000 }));
    expect(throttled.code).toBe('EAGAIN');
  });

  it('a handler running past the timeout fails ETIMEDOUT and sees its signal aborted', async () => {
    const step = moduleStep({ path: moduleFixture, exportName: 'slow', timeoutMs: 300 });
    await step.run(context()).catch(() => undefined); // the first run also pays the import
    const started = Date.now();
    const err = await failure(step);
    expect(err.code).toBe('ETIMEDOUT');
    expect(Date.now() - started).toBeLessThan(5000);
    expect(await waitFor(`${staged}.aborted`)).toContain('timed out');
  });

  it('a missing module is ENOENT, an export that is not a function EINVAL', async () => {
    expect((await failure(moduleStep({ path: join(temp, 'missing.ts'), timeoutMs: 20_000 }))).code).toBe('ENOENT');
    const err = await failure(moduleStep({ path: moduleFixture, exportName: 'notAFunction', timeoutMs: 20_000 }));
    expect(err.code).toBe('EINVAL');
    expect(err.message).toContain("export 'notAFunction' is not a function");
  });
});
