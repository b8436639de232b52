import { spawn, type ChildProcess } from 'node:child_process';
import { FsError, fromSystemError, type FsErrorCode } from '../../../core/errors.js';
import type { Step, StepContext, StepOutcome } from '../types.js';
import { currentPath } from './job-paths.js';

/** Options of a command hook (config `- command: { run, timeout }`, timeout resolved to ms). */
export interface CommandStepOptions {
  /** The program (absolute, or found on PATH) and its first arguments; the staged file's path is appended. */
  run: readonly string[];
  /** The command is killed (and the step fails ETIMEDOUT, retried) when it runs longer, ms. */
  timeoutMs: number;
  /** Between SIGTERM and SIGKILL when the command is stopped, ms (default KILL_GRACE_MS). */
  killGraceMs?: number;
}

/** What a command hook reads on stdin, as one JSON object. */
export interface CommandHookInput {
  watch: string;
  /** The file's path relative to the watched folder (after a conversion earlier in the job: the converted file's). */
  path: string;
  jobId: number;
  /** The local file the command is given as its last argument (the job's staged copy or an earlier step's output). */
  stagedPath: string;
  size: number;
  mtimeMs: number;
  /** The results of the job's finished steps, in order. */
  results: unknown[];
  /** The metadata step's record when it ran earlier in the job (size, mime, sha256, dimensions, EXIF). */
  metadata?: Record<string, unknown>;
}

/** Default wait between SIGTERM and SIGKILL, ms. */
export const KILL_GRACE_MS = 5000;
/** The start of stdout kept in the step's detail, bytes. */
export const STDOUT_DETAIL_BYTES = 4096;
/** Largest stdout read as a JSON object, bytes (longer output is only kept as text). */
const STDOUT_JSON_BYTES = 1 << 20;
/** The end of stderr kept for the error message, bytes. */
const STDERR_TAIL_BYTES = 2048;
/** How long to wait for the command's pipes to close after it exited (a background child may hold them), ms. */
const CLOSE_GRACE_MS = 1000;

/**
 * The FsError code of a command that exited non-zero (or was killed by a
 * signal it did not get from us): ECANCELED, which the dispatcher does not
 * retry, so the job ends 'failed' at once with the exit status and the end
 * of stderr in the message. A timeout is ETIMEDOUT (retried with backoff); a
 * program that cannot be started keeps its system code (ENOENT, EACCES:
 * failed at once). A job aborted through its signal also rejects ECANCELED
 * (the dispatcher ignores what an aborted step throws).
 */
export const HOOK_FAILED_CODE: FsErrorCode = 'ECANCELED';

/**
 * A user's command as a pipeline step: spawns `run[0]` with `run[1..]` and
 * the staged file's path as the last argument, without a shell, in its own
 * process group; writes a CommandHookInput JSON object on its stdin; sets
 * STORAGED_WATCH, STORAGED_PATH and STORAGED_JOB_ID. Exit 0 -> next with
 * detail `{ ms, exitCode, stdout? (first 4 KiB), stdoutTruncated? }`, or
 * `{ ms, exitCode, output }` when stdout is a JSON object. The timeout and
 * the job's signal kill the process group (SIGTERM, then SIGKILL after
 * killGraceMs) and the step waits for the command to be gone before it
 * rejects. Failures: see HOOK_FAILED_CODE.
 */
export function commandStep(options: CommandStepOptions, name = 'command'): Step {
  if (options.run.length === 0 || options.run[0] === '') throw new FsError('EINVAL', `command hook '${name}' has no program to run`, { op: 'config' });
  return {
    name,
    run: (ctx) => runCommand(options, name, ctx),
  };
}

async function runCommand(options: CommandStepOptions, name: string, ctx: StepContext): Promise<StepOutcome> {
  const program = options.run[0]!;
  const label = `command hook '${name}' (${program})`;
  if (ctx.signal.aborted) throw new FsError('ECANCELED', `${label} not started: the job was cancelled`, { op: name, path: ctx.job.path });
  const started = Date.now();
  const path = currentPath(ctx);
  const child = spawn(program, [...options.run.slice(1), ctx.input], {
    stdio: ['pipe', 'pipe', 'pipe'],
    detached: true, // its own process group: a timeout stops whatever it started too
    env: { ...process.env, STORAGED_WATCH: ctx.job.watch, STORAGED_PATH: path, STORAGED_JOB_ID: String(ctx.job.id) },
  });
  const outcome = await supervise(child, options, ctx.signal, hookInput(ctx, path));
  const ms = Date.now() - started;
  const details = { op: name, path: ctx.job.path };
  if (outcome.spawnError !== undefined) throw fromSystemError(outcome.spawnError, { ...details, op: `start ${label}` });
  if (outcome.stoppedBy === 'abort') throw new FsError('ECANCELED', `${label} stopped: the job was cancelled`, details);
  if (outcome.stoppedBy === 'timeout') throw new FsError('ETIMEDOUT', `${label} timed out after ${options.timeoutMs} ms and was killed`, details);
  if (outcome.exitCode !== 0) {
    const status = outcome.exitCode === null ? `was killed by ${outcome.signal ?? 'a signal'}` : `exited with code ${outcome.exitCode}`;
    const stderr = outcome.stderrTail.trim().replace(/\s*\n\s*/g, ' | ');
    throw new FsError(HOOK_FAILED_CODE, `${label} ${status}${stderr === '' ? '' : `: ${stderr}`}`, details);
  }
  return { kind: 'next', detail: describeOutput(outcome.stdout, outcome.stdoutBytes, ms) };
}

/** The JSON a command reads on stdin. */
function hookInput(ctx: StepContext, path: string): CommandHookInput {
  const input: CommandHookInput = {
    watch: ctx.job.watch,
    path,
    jobId: ctx.job.id,
    stagedPath: ctx.input,
    size: ctx.job.size,
    mtimeMs: ctx.job.mtimeMs,
    results: [...ctx.job.results],
  };
  const metadata = [...ctx.job.results].reverse().find((result) => result.step === 'metadata')?.detail;
  if (metadata !== undefined) input.metadata = metadata;
  return input;
}

/** How a command ended. */
interface CommandEnd {
  spawnError?: Error;
  stoppedBy?: 'timeout' | 'abort';
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  /** The first STDOUT_JSON_BYTES of stdout. */
  stdout: Buffer;
  /** Every byte of stdout, counted. */
  stdoutBytes: number;
  stderrTail: string;
}

/** Feeds the command its input, collects its output and stops it on timeout or abort; resolves once it is gone. */
function supervise(child: ChildProcess, options: CommandStepOptions, signal: AbortSignal, input: CommandHookInput): Promise<CommandEnd> {
  return new Promise((resolve) => {
    const stdout: Buffer[] = [];
    let kept = 0;
    let stdoutBytes = 0;
    let stderrTail = '';
    let stoppedBy: CommandEnd['stoppedBy'];
    let exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    let settled = false;
    let closeTimer: NodeJS.Timeout | undefined;

    const finish = (spawnError?: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timeout);
      clearTimeout(closeTimer);
      signal.removeEventListener('abort', onAbort);
      child.stdout?.destroy();
      child.stderr?.destroy();
      resolve({
        ...(spawnError !== undefined ? { spawnError } : {}),
        ...(stoppedBy !== undefined ? { stoppedBy } : {}),
        exitCode: exited?.code ?? null,
        signal: exited?.signal ?? null,
        stdout: Buffer.concat(stdout),
        stdoutBytes,
        stderrTail,
      });
    };
    const stop = (reason: 'timeout' | 'abort') => {
      if (exited !== undefined || stoppedBy !== undefined) return;
      stoppedBy = reason;
      killGroup(child, 'SIGTERM');
      setTimeout(() => killGroup(child, 'SIGKILL'), options.killGraceMs ?? KILL_GRACE_MS).unref();
    };
    const onAbort = () => stop('abort');
    const timeout = setTimeout(() => stop('timeout'), options.timeoutMs);
    signal.addEventListener('abort', onAbort, { once: true });

    child.stdout?.on('data', (chunk: Buffer) => {
      stdoutBytes += chunk.length;
      if (kept >= STDOUT_JSON_BYTES) return;
      const part = chunk.subarray(0, STDOUT_JSON_BYTES - kept);
      stdout.push(part);
      kept += part.length;
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      stderrTail = (stderrTail + chunk.toString('utf8')).slice(-STDERR_TAIL_BYTES);
    });
    // A command that does not read its input closes the pipe: EPIPE here is not its failure.
    child.stdin?.on('error', () => undefined);
    child.stdin?.end(JSON.stringify(input) + '\n');

    child.once('error', (err) => {
      if (child.pid === undefined) finish(err); // could not start (ENOENT, EACCES)
    });
    child.once('exit', (code, exitSignal) => {
      exited = { code, signal: exitSignal };
      // 'close' follows once the pipes are drained; a background child still holding them must not hang the step.
      closeTimer = setTimeout(() => finish(), CLOSE_GRACE_MS);
    });
    child.once('close', () => finish());
    if (signal.aborted) onAbort();
  });
}

/** Signals the command's process group (its pid, negated); already gone is fine. */
function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // ESRCH: every process of the group has exited.
  }
}

/** `{ ms, exitCode, output }` when stdout is a JSON object, else `{ ms, exitCode, stdout?, stdoutTruncated? }`. */
function describeOutput(stdout: Buffer, totalBytes: number, ms: number): Record<string, unknown> {
  const detail: Record<string, unknown> = { ms, exitCode: 0 };
  if (totalBytes === 0) return detail;
  if (totalBytes <= STDOUT_JSON_BYTES) {
    const output = parseJsonObject(stdout.toString('utf8'));
    if (output !== undefined) return { ...detail, output };
  }
  detail.stdout = stdout.subarray(0, STDOUT_DETAIL_BYTES).toString('utf8');
  if (totalBytes > STDOUT_DETAIL_BYTES) detail.stdoutTruncated = true;
  return detail;
}

function parseJsonObject(text: string): Record<string, unknown> | undefined {
  const trimmed = text.trim();
  if (!trimmed.startsWith('{')) return undefined;
  try {
    const value: unknown = JSON.parse(trimmed);
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
