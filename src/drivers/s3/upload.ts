import type { Readable } from 'node:stream';
import { AbortMultipartUploadCommand, type PutObjectCommandInput, type S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { FsError } from '../../core/errors.js';
import { MAX_PART_SIZE } from './settings.js';

/** S3 allows at most this many parts per multipart upload. */
const MAX_PARTS = 10_000;

/** How a streamed upload is cut into parts. */
export interface UploadTuning {
  partSize: number;
  concurrency: number;
  /** Size hint of the body, when known: raises the part size so the parts fit in 10,000. */
  sizeHint?: number;
}

/**
 * Streams `body` to `params.Bucket`/`params.Key` through lib-storage's Upload:
 * one PutObject when the body fits in one part, else a multipart upload whose
 * object appears under its key only on CompleteMultipartUpload (atomic).
 * Memory stays around partSize × (concurrency + 2). Without a size hint, the
 * largest object is partSize × 10,000 (about 50 GiB at 5 MiB).
 *
 * On failure the upload's own error surfaces (not the AbortMultipartUpload's:
 * some servers, s3rver among them, answer that with 405), and the parts are
 * released best-effort. `signal` aborts the upload (AbortError).
 */
export async function uploadStream(
  client: S3Client,
  params: PutObjectCommandInput & { Body: Readable },
  tuning: UploadTuning,
  signal?: AbortSignal,
): Promise<{ etag?: string }> {
  const controller = new AbortController();
  const onAbort = () => controller.abort();
  signal?.addEventListener('abort', onAbort, { once: true });
  const upload = new Upload({
    client,
    params,
    partSize: partSizeFor(tuning),
    queueSize: tuning.concurrency,
    leavePartsOnError: true, // released below, so a failing abort cannot mask the real error
    abortController: controller,
  });
  try {
    if (signal?.aborted) controller.abort();
    const result = await upload.done();
    return result.ETag !== undefined ? { etag: unquote(result.ETag) } : {};
  } catch (err) {
    if (upload.uploadId !== undefined) {
      await client
        .send(new AbortMultipartUploadCommand({ Bucket: params.Bucket, Key: params.Key, UploadId: upload.uploadId }))
        .catch(() => undefined);
    }
    if (err instanceof Error && /^Exceeded \d+ parts/.test(err.message)) {
      throw new FsError('EFBIG', `write '${params.Key}': the stream needs more than ${MAX_PARTS} parts of ${partSizeFor(tuning)} bytes; pass its size or raise part_size`, {
        path: params.Key,
        op: 'write',
        cause: err,
      });
    }
    throw err;
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
}

function partSizeFor(tuning: UploadTuning): number {
  if (tuning.sizeHint === undefined) return tuning.partSize;
  return Math.min(MAX_PART_SIZE, Math.max(tuning.partSize, Math.ceil(tuning.sizeHint / MAX_PARTS)));
}

/** An ETag without its surrounding quotes. */
export function unquote(etag: string): string {
  return etag.replace(/^"|"$/g, '');
}
