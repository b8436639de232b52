import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import {
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { S3RVER_KEY, S3RVER_REGION, S3RVER_SECRET } from '../../test/support/servers/s3rver.js';
import { sleep } from './proc.js';

/** A client for s3rver as BACKENDS.md says (path style, checksums only when required). */
export function createBenchClient(endpoint: string): S3Client {
  return new S3Client({
    endpoint,
    region: S3RVER_REGION,
    forcePathStyle: true,
    credentials: { accessKeyId: S3RVER_KEY, secretAccessKey: S3RVER_SECRET },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

/**
 * Puts `count` small objects `prefix/NNNNN.txt` (plus the `prefix/` folder
 * marker) straight into the bucket, `concurrency` requests at a time.
 */
export async function seedObjects(client: S3Client, bucket: string, prefix: string, count: number, concurrency = 16): Promise<void> {
  await client.send(new PutObjectCommand({ Bucket: bucket, Key: `${prefix}/`, Body: new Uint8Array(0), ContentType: 'application/x-directory' }));
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const i = next++;
      const name = String(i).padStart(5, '0');
      await client.send(new PutObjectCommand({ Bucket: bucket, Key: `${prefix}/${name}.txt`, Body: `entry ${name}\n`, ContentType: 'text/plain' }));
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}

/** Size of an object, or undefined when it does not exist. */
async function objectSize(client: S3Client, bucket: string, key: string): Promise<number | undefined> {
  try {
    const head = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    return head.ContentLength;
  } catch (err) {
    const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
    if (status === 404) return undefined;
    throw err;
  }
}

/** Polls until the object exists with `size` bytes; throws after timeoutMs. */
export async function waitForObject(client: S3Client, bucket: string, key: string, size: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if ((await objectSize(client, bucket, key)) === size) return;
    await sleep(50);
  }
  throw new Error(`s3://${bucket}/${key} did not reach ${size} bytes within ${timeoutMs} ms`);
}

/** Every key under `prefix` (all pages). */
export async function listKeys(client: S3Client, bucket: string, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  for (let page = 0; page < 10_000; page++) {
    const out = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
    for (const item of out.Contents ?? []) if (item.Key) keys.push(item.Key);
    if (!out.IsTruncated) return keys;
    token = out.NextContinuationToken;
  }
  throw new Error(`listing s3://${bucket}/${prefix} did not end`);
}

/** Polls until at least `count` file objects (not folder markers) exist under `prefix`; throws after timeoutMs. */
export async function waitForCount(client: S3Client, bucket: string, prefix: string, count: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let seen = 0;
  while (Date.now() < deadline) {
    seen = (await listKeys(client, bucket, prefix)).filter((key) => !key.endsWith('/')).length;
    if (seen >= count) return;
    await sleep(200);
  }
  throw new Error(`s3://${bucket}/${prefix} holds ${seen} of ${count} objects after ${timeoutMs} ms`);
}

/** sha256 (hex) of an object's bytes, streamed. */
export async function hashObject(client: S3Client, bucket: string, key: string): Promise<string> {
  const out = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  const hash = createHash('sha256');
  for await (const chunk of out.Body as Readable) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Deletes every object under `prefix` (to free disk space between workloads). */
export async function deletePrefix(client: S3Client, bucket: string, prefix: string): Promise<void> {
  const keys = await listKeys(client, bucket, prefix);
  for (let i = 0; i < keys.length; i += 1000) {
    const batch = keys.slice(i, i + 1000).map((Key) => ({ Key }));
    await client.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: batch, Quiet: true } }));
  }
}
