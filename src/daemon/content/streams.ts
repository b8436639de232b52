import type { Readable } from 'node:stream';
import { FsError, fromSystemError } from '../../core/errors.js';

/**
 * Reads a driver's read stream to its end and returns exactly `expected`
 * bytes. A stream with fewer or more bytes means the object changed on the
 * backend since its size was recorded: EIO naming the key. Stream errors
 * become FsErrors (a driver's FsError passes through).
 */
export async function readExactly(stream: Readable, expected: number, key: string): Promise<Buffer> {
  const out = Buffer.allocUnsafe(expected);
  let filled = 0;
  try {
    for await (const chunk of stream) {
      const bytes = chunk as Buffer;
      if (filled + bytes.length > expected) {
        stream.destroy();
        throw changedError(key, `more than the ${expected} bytes expected`);
      }
      bytes.copy(out, filled);
      filled += bytes.length;
    }
  } catch (err) {
    stream.destroy();
    throw fromSystemError(err, { path: key, op: 'read' });
  }
  if (filled !== expected) throw changedError(key, `${filled} bytes where ${expected} were expected`);
  return out;
}

function changedError(key: string, detail: string): FsError {
  return new FsError('EIO', `read '${key}': the object changed on the backend (${detail})`, { path: key, op: 'read' });
}

/**
 * Runs `tasks` with at most `limit` running at once; resolves when all
 * succeeded, rejects with the first failure (after the running ones settle).
 */
export async function runLimited(tasks: Array<() => Promise<void>>, limit: number): Promise<void> {
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async (): Promise<void> => {
    while (next < tasks.length && failure === undefined) {
      const task = tasks[next++]!;
      try {
        await task();
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, tasks.length)) }, worker));
  if (failure !== undefined) throw failure.error;
}
