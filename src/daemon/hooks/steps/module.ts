import { pathToFileURL } from 'node:url';
import { FS_ERROR_CODES, FsError, type FsErrorCode } from '../../../core/errors.js';
import type { Step, StepContext, StepOutcome, StepResult } from '../types.js';
import { HOOK_FAILED_CODE } from './command.js';
import { currentPath } from './job-paths.js';

/** What a module hook's handler is called with. */
export interface HookHandlerInput {
  /** The file's path relative to the watched folder (after a conversion earlier in the job: the converted file's). */
  path: string;
  /** The local file to read: the job's staged copy or an earlier in-place step's output. Do not modify it. */
  stagedPath: string;
  /** The watched folder's name. */
  watch: string;
  jobId: number;
  /** The results of the job's finished steps (the metadata step's detail is the file's metadata record). */
  results: readonly StepResult[];
  /** Aborted when the hook times out, the job is superseded or the engine stops: stop working then. */
  signal: AbortSignal;
}

/**
 * A module hook: the function a module exports (`export default async
 * function (input) {...}` or the export the config names). It may return a
 * JSON-safe object (not an array), which becomes the step's detail (recorded in the job),
 * or nothing. Throwing fails the job at once, unless the error carries a
 * transient code the dispatcher retries (an FsError, or any error with a
 * `code` such as 'EAGAIN', 'ETIMEDOUT', 'ECONNREFUSED': the code is kept).
 * It must be idempotent: a job resumed after a crash calls it again.
 */
export type HookHandler = (input: HookHandlerInput) => Promise<object | void> | object | void;

/** Options of a module hook (config `- module: { path, export, timeout }`, resolved). */
export interface ModuleStepOptions {
  /** The module, absolute (.ts, .mts, .js, .mjs...: TypeScript is compiled by tsx on import). */
  path: string;
  /** The export to call (default 'default'). */
  exportName?: string;
  /** The handler's signal is aborted and the step fails ETIMEDOUT (retried) when it runs longer, ms. */
  timeoutMs: number;
}

/**
 * A user's module as a pipeline step: imports the module once (through
 * tsx's tsImport, so a .ts file works as is; a failed import is tried again
 * by the next job), calls its handler with a HookHandlerInput and records
 * what it returns as the detail (with `ms`). Failures: the module cannot
 * be found (ENOENT) or loaded, or the export is not a function (EINVAL);
 * the handler throws (its code when it has one of FS_ERROR_CODES, else
 * HOOK_FAILED_CODE: failed at once); it runs past the timeout
 * (ETIMEDOUT: the signal is aborted, the step does not wait for it); the
 * job's signal fires (ECANCELED); it returns something that is neither an
 * object nor nothing, or is not JSON-safe (EINVAL).
 */
export function moduleStep(options: ModuleStepOptions, name = 'module'): Step {
  const exportName = options.exportName ?? 'default';
  const label = `module hook '${name}' (${options.path}${exportName === 'default' ? '' : ` export ${exportName}`})`;
  let loading: Promise<HookHandler> | undefined;
  const handler = () => {
    loading ??= loadHandler(options.path, exportName, label).catch((err: unknown) => {
      loading = undefined;
      throw err;
    });
    return loading;
  };
  return {
    name,
    run: (ctx) => runHandler(handler, options.timeoutMs, label, ctx),
  };
}

async function runHandler(handler: () => Promise<HookHandler>, timeoutMs: number, label: string, ctx: StepContext): Promise<StepOutcome> {
  const details = { op: 'hook', path: ctx.job.path };
  if (ctx.signal.aborted) throw new FsError('ECANCELED', `${label} not started: the job was cancelled`, details);
  const started = Date.now();
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  const stopped = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      controller.abort(new FsError('ETIMEDOUT', `${label} timed out after ${timeoutMs} ms`, details));
      reject(controller.signal.reason);
    }, timeoutMs);
    onAbort = () => {
      controller.abort(new FsError('ECANCELED', `${label} stopped: the job was cancelled`, details));
      reject(controller.signal.reason);
    };
    ctx.signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    const call = handler().then((fn) =>
      fn({ path: currentPath(ctx), stagedPath: ctx.input, watch: ctx.job.watch, jobId: ctx.job.id, results: ctx.job.results, signal: controller.signal }),
    );
    call.catch(() => undefined); // after a timeout nobody awaits it: its late failure is not unhandled
    const returned = await Promise.race([call, stopped]);
    return { kind: 'next', detail: { ...jsonSafe(returned, label, details), ms: Date.now() - started } };
  } catch (err) {
    throw asHookError(err, label, details);
  } finally {
    clearTimeout(timer);
    if (onAbort !== undefined) ctx.signal.removeEventListener('abort', onAbort);
  }
}

/** Imports the module (tsx compiles TypeScript) and picks the export. */
async function loadHandler(path: string, exportName: string, label: string): Promise<HookHandler> {
  let namespace: Record<string, unknown>;
  try {
    // Loaded on use: the daemon needs tsx only when a module hook is configured.
    const { tsImport } = await import('tsx/esm/api');
    namespace = (await tsImport(pathToFileURL(path).href, import.meta.url)) as Record<string, unknown>;
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    const missing = code === 'ERR_MODULE_NOT_FOUND' || code === 'ENOENT';
    const reason = err instanceof Error ? err.message : String(err);
    throw new FsError(missing ? 'ENOENT' : 'EINVAL', `${label} cannot be loaded: ${reason}`, { op: 'hook', path, cause: err });
  }
  const handler = namespace[exportName];
  if (typeof handler !== 'function') {
    const found = Object.keys(namespace).join(', ') || 'none';
    throw new FsError('EINVAL', `${label}: export '${exportName}' is not a function (exports: ${found})`, { op: 'hook', path });
  }
  return handler as HookHandler;
}

/** The handler's result as a detail object: nothing -> {}, an object -> its JSON round-trip. */
function jsonSafe(value: unknown, label: string, details: { op: string; path: string }): Record<string, unknown> {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new FsError('EINVAL', `${label} returned ${Array.isArray(value) ? 'an array' : typeof value}; a handler returns an object or nothing`, details);
  }
  try {
    return JSON.parse(JSON.stringify(value)) as Record<string, unknown>;
  } catch (err) {
    throw new FsError('EINVAL', `${label} returned an object that is not JSON-safe: ${err instanceof Error ? err.message : String(err)}`, { ...details, cause: err });
  }
}

/** An FsError keeps its code, so does any error whose `code` is an FsError code; anything else fails the job. */
function asHookError(err: unknown, label: string, details: { op: string; path: string }): FsError {
  if (err instanceof FsError) return err;
  const code = (err as { code?: unknown } | null)?.code;
  const message = err instanceof Error ? err.message : String(err);
  const kept = typeof code === 'string' && (FS_ERROR_CODES as readonly string[]).includes(code) ? (code as FsErrorCode) : HOOK_FAILED_CODE;
  return new FsError(kept, `${label} failed: ${message}`, { ...details, cause: err });
}
