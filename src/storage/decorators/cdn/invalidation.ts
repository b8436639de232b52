import { spawn } from 'node:child_process';
import { FsError, fromSystemError } from '../../../core/errors.js';

/**
 * How a CDN is told that paths changed. Either or both of:
 * - `webhook`: POST `{"paths":["/a.txt",...]}` (Content-Type application/json unless
 *   `headers` name another, plus `headers`) to `url`; any 2xx answer is success;
 * - `command`: run `command[0]` with `command[1..]` and then the paths as extra
 *   arguments, without a shell; exit status 0 is success.
 * `timeoutMs` (default 10000) bounds each call; a call past it fails.
 */
export interface CdnInvalidation {
  webhook?: { url: string; headers?: Record<string, string> };
  command?: string[];
  timeoutMs?: number;
}

/** Counters of invalidation calls (each webhook POST and each command run is one call). */
export interface InvalidationStats {
  /** Calls that succeeded. */
  sent: number;
  /** Calls that failed (error status, unreachable, non-zero exit, timeout). */
  failed: number;
  /** Message of the most recent failure. */
  lastError?: string;
}

/** Called once per failed call with the error (an FsError) and the paths it carried. */
export type InvalidationErrorHandler = (error: FsError, paths: string[]) => void;

/** Default bound on one invalidation call. */
export const DEFAULT_INVALIDATION_TIMEOUT_MS = 10_000;

/** Longest stderr tail of a failed command kept in its error message. */
const STDERR_TAIL = 2000;

/**
 * Sends invalidation batches over the configured channels. `send` never
 * rejects: a failure is counted, kept as `lastError` and handed to the
 * error handler (whose own exceptions are swallowed).
 */
export class Invalidator {
  private readonly stats: InvalidationStats = { sent: 0, failed: 0 };
  private readonly timeoutMs: number;

  constructor(
    private readonly config: CdnInvalidation,
    private readonly onError?: InvalidationErrorHandler,
  ) {
    this.timeoutMs = config.timeoutMs ?? DEFAULT_INVALIDATION_TIMEOUT_MS;
  }

  /** True when at least one channel is configured. */
  get enabled(): boolean {
    return this.config.webhook !== undefined || this.config.command !== undefined;
  }

  /** A snapshot of the counters. */
  snapshot(): InvalidationStats {
    return { ...this.stats };
  }

  /** Tells every configured channel that `paths` changed; resolves when all calls settled. */
  async send(paths: string[]): Promise<void> {
    if (paths.length === 0) return;
    const calls: Promise<void>[] = [];
    if (this.config.webhook) calls.push(this.track(paths, postWebhook(this.config.webhook, paths, this.timeoutMs)));
    if (this.config.command) calls.push(this.track(paths, runCommand(this.config.command, paths, this.timeoutMs)));
    await Promise.all(calls);
  }

  private async track(paths: string[], call: Promise<void>): Promise<void> {
    try {
      await call;
      this.stats.sent++;
    } catch (err) {
      const error = fromSystemError(err, { op: 'cdn-invalidate' });
      this.stats.failed++;
      this.stats.lastError = error.message;
      try {
        this.onError?.(error, paths);
      } catch {
        // The handler's own failure must not turn into a failed write either.
      }
    }
  }
}

/** Checks invalidation options; FsError EINVAL naming the bad value. */
export function validateInvalidation(config: CdnInvalidation): void {
  if (config.webhook !== undefined) {
    if (!isHttpUrl(config.webhook.url)) {
      throw new FsError('EINVAL', `cdn invalidation: webhook url '${config.webhook.url}' is not an http(s) URL`, { op: 'config' });
    }
  }
  if (config.command !== undefined) {
    const { command } = config;
    if (!Array.isArray(command) || command.length === 0 || !command.every((part) => typeof part === 'string') || command[0] === '') {
      throw new FsError('EINVAL', `cdn invalidation: command must be a non-empty array of strings, got ${JSON.stringify(command)}`, { op: 'config' });
    }
  }
  if (config.timeoutMs !== undefined && !(Number.isFinite(config.timeoutMs) && config.timeoutMs > 0)) {
    throw new FsError('EINVAL', `cdn invalidation: timeoutMs ${config.timeoutMs} is not a positive number`, { op: 'config' });
  }
}

/** True for an absolute http: or https: URL. */
export function isHttpUrl(value: unknown): value is string {
  if (typeof value !== 'string') return false;
  try {
    const { protocol } = new URL(value);
    return protocol === 'http:' || protocol === 'https:';
  } catch {
    return false;
  }
}

async function postWebhook(webhook: NonNullable<CdnInvalidation['webhook']>, paths: string[], timeoutMs: number): Promise<void> {
  const headers = new Headers(webhook.headers);
  if (!headers.has('content-type')) headers.set('content-type', 'application/json');
  let response: Response;
  try {
    response = await fetch(webhook.url, {
      method: 'POST',
      headers,
      body: JSON.stringify({ paths }),
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (err) {
    if (err instanceof Error && err.name === 'TimeoutError') {
      throw new FsError('ETIMEDOUT', `cdn invalidation webhook ${webhook.url}: no answer within ${timeoutMs} ms`, { op: 'cdn-invalidate', cause: err });
    }
    throw fromSystemError(err, { op: `cdn invalidation webhook ${webhook.url}` });
  }
  const text = await response.text().catch(() => '');
  if (!response.ok) {
    throw new FsError('EIO', `cdn invalidation webhook ${webhook.url} answered ${response.status}: ${text.slice(0, 200)}`, { op: 'cdn-invalidate' });
  }
}

function runCommand(command: string[], paths: string[], timeoutMs: number): Promise<void> {
  const [program, ...args] = command as [string, ...string[]];
  const shown = command.join(' ');
  return new Promise<void>((resolve, reject) => {
    const child = spawn(program, [...args, ...paths], { shell: false, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString('utf8')).slice(-STDERR_TAIL);
    });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(fromSystemError(err, { op: `cdn invalidation command '${shown}'` }));
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      if (timedOut) {
        reject(new FsError('ETIMEDOUT', `cdn invalidation command '${shown}' ran past ${timeoutMs} ms and was killed`, { op: 'cdn-invalidate' }));
      } else if (code === 0) {
        resolve();
      } else {
        const how = code === null ? `was killed by ${signal}` : `exited with status ${code}`;
        reject(new FsError('EIO', `cdn invalidation command '${shown}' ${how}${stderr ? `: ${stderr.trim()}` : ''}`, { op: 'cdn-invalidate' }));
      }
    });
  });
}
