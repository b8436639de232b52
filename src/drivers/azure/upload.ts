import { createHash, randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { BlobHTTPHeaders, BlockBlobClient } from '@azure/storage-blob';
import { FsError } from '../../core/errors.js';

/** Azure allows at most this many committed blocks per blob. */
const MAX_BLOCKS = 50_000;
/** Default block size: also the largest body sent as one Put Blob. */
export const DEFAULT_BLOCK_BYTES = 4 * 1024 * 1024;
/** Largest block Azure accepts (4000 MiB); block sizes never grow past this. */
const MAX_BLOCK_BYTES = 4000 * 1024 * 1024;
/** After this many blocks of one size, the block size doubles (bodies of unknown size). */
const BLOCKS_PER_SIZE_STEP = 10_000;

/** What uploadBlob needs besides the body. */
export interface BlockUploadOptions {
  contentType: string;
  metadata?: Record<string, string>;
  /** Access tier name (Hot, Cool, Cold, Archive). */
  tier?: string;
  /** Size hint: picks a block size that fits in 50,000 blocks from the start. */
  size?: number;
  /** Blocks staged in parallel; memory use is about (concurrency + 1) blocks. */
  concurrency: number;
  /** Wraps every request with the per-request deadline and the caller's abort signal. */
  request: <T>(fn: (signal: AbortSignal) => Promise<T>) => Promise<T>;
}

/**
 * Streams `body` into a block blob, atomically: a body that fits in one
 * block goes up as a single Put Blob; a larger one is staged as blocks (a few
 * in flight, so memory stays at a handful of blocks whatever the size) and
 * appears only when the block list is committed. The MD5 of the whole body is
 * computed on the way and stored as the blob's Content-MD5, which Azure does
 * not compute for block-list commits (the SDK's uploadStream leaves it empty,
 * hence this small uploader instead of uploadStream). Returns the ETag.
 */
export async function uploadBlob(client: BlockBlobClient, body: Readable, options: BlockUploadOptions): Promise<string | undefined> {
  const md5 = createHash('md5');
  const uploadId = randomBytes(8).toString('hex');
  const blockIds: string[] = [];
  const inFlight = new Set<Promise<void>>();
  let failure: { error: unknown } | undefined;
  const sizeFor = blockSizer(options.size);
  try {
    for await (const block of blocks(body, () => sizeFor(blockIds.length))) {
      md5.update(block.data);
      if (block.last && !block.first && block.data.length === 0) break; // ended on a block boundary
      if (block.first && block.last) {
        const headers = httpHeaders(options.contentType, md5.digest());
        const response = await options.request((abortSignal) =>
          client.upload(block.data, block.data.length, { ...commonOptions(options), blobHTTPHeaders: headers, abortSignal }),
        );
        return response.etag;
      }
      if (blockIds.length >= MAX_BLOCKS) {
        throw new FsError('EFBIG', `write '${client.name}': the body needs more than ${MAX_BLOCKS} blocks`, { path: client.name, op: 'write' });
      }
      const id = Buffer.from(`${uploadId}-${String(blockIds.length).padStart(6, '0')}`).toString('base64');
      blockIds.push(id);
      const staged: Promise<void> = options
        .request((abortSignal) => client.stageBlock(id, block.data, block.data.length, { abortSignal }))
        .then(
          () => undefined,
          (error: unknown) => {
            failure ??= { error };
          },
        )
        .finally(() => inFlight.delete(staged));
      inFlight.add(staged);
      if (inFlight.size >= options.concurrency) await Promise.race(inFlight);
      if (failure) throw failure.error;
    }
    await Promise.all(inFlight);
    if (failure) throw failure.error;
    const headers = httpHeaders(options.contentType, md5.digest());
    const response = await options.request((abortSignal) =>
      client.commitBlockList(blockIds, { ...commonOptions(options), blobHTTPHeaders: headers, abortSignal }),
    );
    return response.etag;
  } catch (err) {
    body.destroy();
    await Promise.allSettled(inFlight);
    throw err;
  }
}

function commonOptions(options: BlockUploadOptions): { metadata?: Record<string, string>; tier?: string } {
  return { ...(options.metadata ? { metadata: options.metadata } : {}), ...(options.tier ? { tier: options.tier } : {}) };
}

function httpHeaders(contentType: string, md5: Buffer): BlobHTTPHeaders {
  return { blobContentType: contentType, blobContentMD5: md5 };
}

/** Block size for the i-th block: from the size hint, else doubling every 10,000 blocks. */
function blockSizer(sizeHint: number | undefined): (index: number) => number {
  if (sizeHint !== undefined && sizeHint > DEFAULT_BLOCK_BYTES * MAX_BLOCKS) {
    const mib = 1024 * 1024;
    const fixed = Math.min(MAX_BLOCK_BYTES, Math.ceil(sizeHint / MAX_BLOCKS / mib) * mib);
    return () => fixed;
  }
  return (index) => Math.min(MAX_BLOCK_BYTES, DEFAULT_BLOCK_BYTES * 2 ** Math.floor(index / BLOCKS_PER_SIZE_STEP));
}

/**
 * Cuts a stream into blocks of `size()` bytes, yielding each as soon as it is
 * full, so only the block being filled is buffered here. The block that ends
 * the stream is marked `last` (it may be shorter, and is empty for an empty
 * stream or one that ended exactly on a block boundary).
 */
async function* blocks(body: Readable, size: () => number): AsyncGenerator<{ data: Buffer; first: boolean; last: boolean }> {
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let first = true;
  for await (const chunk of body) {
    const buffer = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
    pending.push(buffer);
    pendingBytes += buffer.length;
    while (pendingBytes >= size()) {
      const cut = size();
      const joined = pending.length === 1 ? (pending[0] as Buffer) : Buffer.concat(pending, pendingBytes);
      pending = joined.length > cut ? [joined.subarray(cut)] : [];
      pendingBytes = joined.length - cut;
      yield { data: joined.subarray(0, cut), first, last: false };
      first = false;
    }
  }
  yield { data: Buffer.concat(pending, pendingBytes), first, last: true };
}
