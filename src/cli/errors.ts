import { ConfigErrors } from '../core/config/errors.js';
import { FsError, fromSystemError } from '../core/errors.js';

/** Where the CLI writes its complaints; process.stderr in production. */
export interface ErrorSink {
  write(text: string): unknown;
}

/** True when STORAGED_DEBUG=1 asks for stack traces. */
export function debugEnabled(env: NodeJS.ProcessEnv = process.env): boolean {
  return env.STORAGED_DEBUG === '1';
}

/**
 * The lines the CLI prints for a failure, each `storaged: <message> [CODE]`.
 * A ConfigErrors gives one line per problem. Never a stack trace.
 */
export function formatError(err: unknown): string[] {
  if (err instanceof ConfigErrors) return err.problems.map((p) => `storaged: ${p.message} [${p.code}]`);
  if (err instanceof FsError) return [`storaged: ${err.message} [${err.code}]`];
  const mapped = fromSystemError(err);
  const code = mapped.code === 'EIO' && !hasCode(err) ? '' : ` [${mapped.code}]`;
  return [`storaged: ${err instanceof Error ? err.message : String(err)}${code}`];
}

/**
 * Prints `err` as formatError lines; with STORAGED_DEBUG=1 adds the stack
 * and every cause below it.
 */
export function printError(err: unknown, sink: ErrorSink = process.stderr, debug = debugEnabled()): void {
  sink.write(formatError(err).join('\n') + '\n');
  if (!debug) return;
  let current: unknown = err;
  for (let depth = 0; depth < 6 && current !== undefined; depth++) {
    const stack = current instanceof Error ? (current.stack ?? current.message) : String(current);
    sink.write(`${depth === 0 ? '' : 'caused by: '}${stack}\n`);
    current = current instanceof Error ? current.cause : undefined;
  }
}

/** Collapses a message onto one line (SDK messages sometimes span several). */
export function oneLine(text: string, max = 300): string {
  const flat = text.replace(/\s*\n\s*/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 3)}...` : flat;
}

function hasCode(err: unknown): boolean {
  return !!err && typeof err === 'object' && typeof (err as { code?: unknown }).code === 'string';
}
