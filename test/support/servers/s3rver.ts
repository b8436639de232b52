import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createHash } from 'node:crypto';
import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command, S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import { s3DiskSchema, type S3DiskConfig } from '../../../src/core/config/schema.js';
import type { S3DriverOverrides } from '../../../src/drivers/s3/index.js';
import { freePort, startServer, type ServerProcess } from '../process.js';

/** The account s3rver always knows (it does not check V4 signatures, only the key id). */
export const S3RVER_KEY = 'S3RVER';
export const S3RVER_SECRET = 'S3RVER';
/** s3rver's continuation tokens name this region; any other breaks pagination. */
export const S3RVER_REGION = 'us-east-1';

/**
 * How s3rver differs from AWS, declared rather than hidden:
 * - its GetObjectAcl is a stub (always owner FULL_CONTROL) and it serves every
 *   object anonymously, so ACL visibility cannot be observed: acl off;
 * - it checks a presigned URL's expiry but not its V4 signature (a tampered
 *   URL is served): temporaryUrlSignatureEnforced off;
 * - it stores `<name>._S3rver_metadata.json` files, so a name can have at
 *   most 255 - 22 = 233 bytes;
 * - a CopyObject with MetadataDirective REPLACE onto an existing key keeps
 *   that key's old MD5 as ETag: replaceCopyKeepsOldEtag (see s3-copy.test.ts);
 * - its PutObject writes the object's file in place, so racing overwrites of
 *   one key interleave (S3RVER_RACING_OVERWRITES: the conformance case is skipped).
 */
export const S3RVER_OVERRIDES: S3DriverOverrides = {
  acl: false,
  replaceCopyKeepsOldEtag: true,
  capabilities: {
    temporaryUrlSignatureEnforced: false,
    limits: { maxNameBytes: 255 - '._S3rver_metadata.json'.length, maxKeyBytes: 1024 },
  },
};

/** The conformance fixture's racingOverwritesSkipReason for s3rver. */
export const S3RVER_RACING_OVERWRITES = 's3rver writes objects in place: racing overwrites of one key interleave on its side';

/** The s3 disk config of `bucket` on a running s3rver (`extra` keys as in config.yaml). */
export function s3rverDiskConfig(server: { endpoint: string }, bucket: string, extra: Record<string, unknown> = {}): S3DiskConfig {
  return s3DiskSchema.parse({
    driver: 's3',
    bucket,
    region: S3RVER_REGION,
    endpoint: server.endpoint,
    path_style: true,
    key: S3RVER_KEY,
    secret: S3RVER_SECRET,
    timeout: 10,
    ...extra,
  });
}

/** A running s3rver on 127.0.0.1, stopped and restarted by its own pid. */
export interface S3rver {
  readonly port: number;
  /** http://127.0.0.1:PORT */
  readonly endpoint: string;
  readonly dataDir: string;
  /** A new, empty bucket with a unique name. */
  createBucket(): Promise<string>;
  /** Stops the server process (its data stays); the returned function starts it again on the same port and folder. */
  interrupt(): Promise<() => Promise<void>>;
  /** Stops the server and deletes its data folder. */
  stop(): Promise<void>;
  /** The last lines the server printed (its request log, when started with logRequests). */
  output(): string;
}

const require = createRequire(import.meta.url);
const S3RVER_BIN = join(dirname(require.resolve('s3rver/package.json')), 'bin', 's3rver.js');

/**
 * An AWS SDK client for the s3rver at `endpoint` (path style, its fixed
 * credentials, checksums only where required: s3rver predates the SDK's
 * default ones). The caller destroys it.
 */
export function s3rverClient(endpoint: string, extra: Omit<S3ClientConfig, 'endpoint'> = {}): S3Client {
  return new S3Client({
    ...extra,
    endpoint,
    region: S3RVER_REGION,
    forcePathStyle: true,
    credentials: { accessKeyId: S3RVER_KEY, secretAccessKey: S3RVER_SECRET },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

/**
 * Starts s3rver as a child process, as BACKENDS.md says: `node
 * --openssl-legacy-provider` (without it ListObjectsV2 pagination answers 500)
 * and plain node rather than npx (killing npx leaves the server behind).
 */
export async function startS3rver(options: { logRequests?: boolean } = {}): Promise<S3rver> {
  const port = await freePort();
  const dataDir = await mkdtemp(join(tmpdir(), 'storaged-s3rver-'));
  const endpoint = `http://127.0.0.1:${port}`;
  const launch = () =>
    startServer(process.execPath, ['--openssl-legacy-provider', S3RVER_BIN, '-d', dataDir, '-a', '127.0.0.1', '-p', String(port), ...(options.logRequests ? [] : ['--silent'])], {
      port,
      timeoutMs: 20_000,
    });
  let server: ServerProcess | undefined = await launch();
  const admin = s3rverClient(endpoint);
  let buckets = 0;
  return {
    port,
    endpoint,
    dataDir,
    async createBucket() {
      const name = `bucket-${process.pid}-${++buckets}-${Date.now().toString(36)}`;
      await admin.send(new CreateBucketCommand({ Bucket: name }));
      return name;
    },
    async interrupt() {
      await server?.stop();
      server = undefined;
      return async () => {
        server = await launch();
      };
    },
    output: () => server?.output() ?? '',
    async stop() {
      admin.destroy();
      await server?.stop();
      server = undefined;
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** Every key in `bucket`, read from the server itself (all pages). */
export async function listBucketKeys(client: S3Client, bucket: string): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: token }));
    for (const object of page.Contents ?? []) keys.push(object.Key!);
    token = page.NextContinuationToken;
  } while (token);
  return keys;
}

/** sha256 hex of the object `key` in `bucket`, streamed from the server. */
export async function objectSha256(client: S3Client, bucket: string, key: string): Promise<string> {
  const answer = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  const hash = createHash('sha256');
  for await (const chunk of answer.Body as AsyncIterable<Uint8Array>) hash.update(chunk);
  return hash.digest('hex');
}
