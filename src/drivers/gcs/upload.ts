import { Readable } from 'node:stream';

/** The start of a stream, read ahead to pick an upload method. */
export interface PeekedBody {
  /** Bytes read ahead (at most the limit, plus the rest of the last chunk). */
  headBytes: number;
  /** True when the whole stream fit in the read-ahead. */
  ended: boolean;
  /** The complete body again: the read-ahead, then whatever is left. */
  body: Readable;
}

/**
 * Reads up to `limit` bytes of `source` ahead, so the caller can choose a
 * single-request upload for small bodies and a resumable one for large (or
 * unknown-size) bodies without buffering more than `limit`. The returned
 * `body` replays the read-ahead and then streams the rest, with backpressure;
 * an error of `source` surfaces on `body`.
 */
export async function peekBody(source: Readable, limit: number): Promise<PeekedBody> {
  const iterator = source[Symbol.asyncIterator]() as AsyncIterator<Buffer | Uint8Array | string>;
  const head: Buffer[] = [];
  let headBytes = 0;
  let ended = false;
  while (headBytes <= limit) {
    const step = await iterator.next();
    if (step.done) {
      ended = true;
      break;
    }
    const chunk = asBuffer(step.value);
    head.push(chunk);
    headBytes += chunk.length;
  }
  async function* replay(): AsyncGenerator<Buffer> {
    yield* head.splice(0);
    if (ended) return;
    for (;;) {
      const step = await iterator.next();
      if (step.done) return;
      yield asBuffer(step.value);
    }
  }
  const body = Readable.from(replay(), { objectMode: false });
  body.once('close', () => {
    if (!ended) void iterator.return?.();
  });
  return { headBytes, ended, body };
}

function asBuffer(chunk: Buffer | Uint8Array | string): Buffer {
  return Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk);
}
