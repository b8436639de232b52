import { pipeline, Readable, Transform, Writable, type TransformCallback } from 'node:stream';
import { FsError } from '../../core/errors.js';
import { FtpPool, type FtpLease } from './pool.js';

/**
 * Bytes a cut-short ranged read may still swallow to keep its connection:
 * past this, the client is closed instead (a fresh login is cheaper than
 * draining a big remainder, and ABOR replies race with the next command).
 */
const DRAIN_LIMIT_BYTES = 256 * 1024;

/** What openDownload needs besides the lease. */
export interface DownloadRequest {
  remotePath: string;
  offset: number;
  /** Stop after this many bytes (undefined: to the end). */
  length?: number;
  signal?: AbortSignal;
  /** Maps a failure after the transfer started, for the stream's 'error'. */
  mapError(err: unknown): FsError;
}

/**
 * Starts RETR (with REST when offset > 0) on the leased client and resolves
 * with the byte stream once the server accepted it (150), so a refused
 * transfer (550) rejects here with basic-ftp's raw error. The lease is held
 * until the transfer ends, then released, or discarded when the transfer
 * failed, was cut short after `length` bytes, or the consumer destroyed the
 * stream early. Backpressure reaches the data socket.
 */
export function openDownload(lease: FtpLease, request: DownloadRequest): Promise<Readable> {
  return new Promise<Readable>((resolve, reject) => {
    let remaining = request.length;
    let started = false;
    let settled = false;
    let outputEnded = false;
    let cutShort = false;
    let drained = 0;
    let pending: (() => void) | undefined;

    const abandon = () => {
      cutShort = true;
      const callback = pending;
      pending = undefined;
      lease.discard();
      callback?.();
    };
    const endOutput = () => {
      if (outputEnded) return;
      outputEnded = true;
      output.push(null);
    };
    const output = new Readable({
      read() {
        const callback = pending;
        pending = undefined;
        callback?.();
      },
      destroy(err, callback) {
        // A consumer that stops early (or an abort) ends the transfer; a normal end after the range lets it drain.
        if (!settled && !(outputEnded && err === null)) abandon();
        callback(err);
      },
    });
    const sink = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        if (outputEnded) return swallow(chunk.length, callback);
        const part = remaining === undefined ? chunk : chunk.subarray(0, remaining);
        if (remaining !== undefined) remaining -= part.length;
        const more = part.length === 0 || output.push(part);
        if (remaining === 0) {
          endOutput();
          return swallow(chunk.length - part.length, callback);
        }
        if (more) callback();
        else pending = callback;
      },
    });
    const swallow = (bytes: number, callback: () => void) => {
      drained += bytes;
      if (drained > DRAIN_LIMIT_BYTES) abandon();
      callback();
    };
    const onAbort = () => {
      const err = new FsError('ECANCELED', `read '${request.remotePath}': aborted`, { op: 'read', path: request.remotePath });
      if (started) output.destroy(err);
      else {
        abandon();
        reject(err);
      }
    };

    sink.once('pipe', () => {
      started = true;
      resolve(output);
    });
    if (request.signal?.aborted) return onAbort();
    request.signal?.addEventListener('abort', onAbort, { once: true });

    lease.client.downloadTo(sink, request.remotePath, request.offset).then(
      () => {
        settled = true;
        request.signal?.removeEventListener('abort', onAbort);
        lease.release();
        endOutput();
        started = true;
        resolve(output);
      },
      (err: unknown) => {
        settled = true;
        request.signal?.removeEventListener('abort', onAbort);
        if (cutShort) {
          lease.discard();
          return;
        }
        if (FtpPool.leavesClientUsable(err) && !lease.client.closed) lease.release();
        else lease.discard();
        if (started) output.destroy(request.mapError(err));
        else reject(err);
      },
    );
  });
}

/** Passes bytes through, counting them. */
export class CountingStream extends Transform {
  /** Bytes that went through so far. */
  bytes = 0;

  /** True once a consumer started reading (an upload began): the body cannot be sent again. */
  get consumed(): boolean {
    return this.readableFlowing !== null;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.bytes += chunk.length;
    callback(null, chunk);
  }
}

/**
 * Wraps a write body so its bytes are counted and an abort signal or a
 * failing body destroys the stream basic-ftp reads (which fails the upload).
 * The body is not read until basic-ftp starts the transfer.
 */
export function countingBody(body: Readable, signal?: AbortSignal): CountingStream {
  const counter = new CountingStream();
  pipeline(body, counter, () => {
    // Errors reach basic-ftp through `counter`, which pipeline destroys with them.
  });
  if (signal) {
    const onAbort = () => counter.destroy(Object.assign(new Error('write aborted'), { name: 'AbortError' }));
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
    counter.once('close', () => signal.removeEventListener('abort', onAbort));
  }
  return counter;
}
