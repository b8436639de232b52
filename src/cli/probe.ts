import { randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import { FsError, fromSystemError } from '../core/errors.js';
import type { StorageDriver } from '../drivers/types.js';

/** The steps of a storage probe, in order. */
export type ProbeStep = 'create' | 'list' | 'write' | 'read' | 'delete';

/** How one disk fared: every step's duration, or the step that failed and why. */
export type ProbeResult =
  | { ok: true; timings: Array<{ step: ProbeStep; ms: number }> }
  | { ok: false; step: ProbeStep; error: FsError; timedOut: boolean };

/** Bytes written by the probe: small, random, so a stale object cannot pass the comparison. */
const PROBE_BYTES = 1024;

/**
 * Exercises one disk end to end: build the driver, list the root, write
 * `.storaged-probe-<random>`, read it back and compare, delete it. The whole
 * probe is bounded by `timeoutMs` (then ETIMEDOUT on the step in progress,
 * and in-flight requests are aborted). Never throws: failures come back as a
 * result, always as FsError. A probe object left behind by a failed read is
 * deleted on a best-effort basis.
 */
export async function probeDisk(open: () => Promise<StorageDriver>, timeoutMs: number): Promise<ProbeResult> {
  const controller = new AbortController();
  const state: { step: ProbeStep } = { step: 'create' };
  const timings: Array<{ step: ProbeStep; ms: number }> = [];
  const timed = async <T>(step: ProbeStep, run: () => Promise<T>): Promise<T> => {
    state.step = step;
    const started = performance.now();
    const value = await run();
    timings.push({ step, ms: performance.now() - started });
    return value;
  };

  const work = (async (): Promise<ProbeResult> => {
    const driver = await timed('create', open);
    timings.pop(); // building a driver does no I/O; its time is not worth a column
    const key = `.storaged-probe-${randomBytes(6).toString('hex')}`;
    const body = randomBytes(PROBE_BYTES);
    await timed('list', () => driver.list('', { recursive: false, pageSize: 100 }));
    await timed('write', () => driver.write(key, body, { size: body.length, signal: controller.signal }));
    try {
      await timed('read', async () => {
        const stream = await driver.read(key, { signal: controller.signal });
        const back = await collect(stream, PROBE_BYTES * 2);
        if (!back.equals(body)) {
          throw new FsError('EBADMSG', `read back ${back.length} bytes that differ from the ${body.length} written to '${key}'`, {
            path: key,
            op: 'read',
          });
        }
      });
    } catch (err) {
      void driver.delete(key).catch(() => undefined);
      throw err;
    }
    await timed('delete', () => driver.delete(key));
    return { ok: true, timings };
  })();

  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<ProbeResult>((resolve) => {
    timer = setTimeout(() => {
      controller.abort();
      const seconds = Math.round((timeoutMs / 1000) * 10) / 10;
      const error = new FsError('ETIMEDOUT', `no answer within ${seconds} s`, { op: state.step });
      resolve({ ok: false, step: state.step, error, timedOut: true });
    }, timeoutMs);
  });
  try {
    return await Promise.race([
      work.catch((err: unknown): ProbeResult => ({ ok: false, step: state.step, error: fromSystemError(err), timedOut: false })),
      deadline,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Reads a small stream fully; EFBIG past `limit` bytes (the probe never needs more). */
async function collect(stream: Readable, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of stream) {
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array);
    total += buf.length;
    if (total > limit) {
      stream.destroy();
      throw new FsError('EFBIG', `read back more than ${limit} bytes from a ${PROBE_BYTES}-byte probe`, { op: 'read' });
    }
    chunks.push(buf);
  }
  return Buffer.concat(chunks);
}
