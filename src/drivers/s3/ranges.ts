import { Readable, Transform } from 'node:stream';
import { emptyReadable } from '../shared/body.js';

/** What a ranged GetObject answer says about its body. */
export interface RangedAnswer {
  ContentLength?: number;
  /** `bytes first-last/total`. */
  ContentRange?: string;
}

/**
 * Guards the body of a ranged GET against servers that answer more than the
 * range or announce bytes they never send (s3rver: `bytes=0-0` gives the
 * whole object; any range of an empty object announces one byte and sends
 * none, so the reader hangs). Compliant answers (AWS) pass through untouched:
 * - when Content-Range says the range starts at or past the object's end,
 *   the body is dropped and an empty stream returned;
 * - when the answer is longer than `length`, it is cut at `length` bytes.
 */
export function trimRangedBody(body: Readable, answer: RangedAnswer, offset: number, length: number | undefined): Readable {
  const total = /\/(\d+)\s*$/.exec(answer.ContentRange ?? '')?.[1];
  if (total !== undefined && offset >= Number(total)) {
    body.destroy();
    return emptyReadable();
  }
  if (length === undefined || answer.ContentLength === undefined || answer.ContentLength <= length) return body;
  return limitStream(body, length);
}

/** The first `limit` bytes of `source`; the source is released once they have passed. */
function limitStream(source: Readable, limit: number): Readable {
  let left = limit;
  const limited = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      if (left <= 0) return done();
      const piece = chunk.length <= left ? chunk : chunk.subarray(0, left);
      left -= piece.length;
      this.push(piece);
      if (left === 0) {
        this.push(null);
        source.unpipe(limited);
        source.destroy();
      }
      done();
    },
  });
  source.on('error', (err) => {
    if (left > 0) limited.destroy(err); // after the last byte, the source's end no longer matters
  });
  limited.once('close', () => source.destroy());
  return source.pipe(limited);
}
