import { FsError } from '../../core/errors.js';
import { parseSize } from '../../core/config/size.js';
import type { S3DiskConfig } from '../../core/config/schema.js';

/** S3's smallest part size (every part but the last). */
export const MIN_PART_SIZE = 5 * 2 ** 20;
/** S3's largest part size. */
export const MAX_PART_SIZE = 5 * 2 ** 30;
/**
 * Part size when config.part_size is absent: S3's minimum, 5 MiB. lib-storage
 * holds about part size × (concurrency + 2) per upload (parts in flight, the
 * part being filled, its concatenation): ~20-30 MiB of RSS with the defaults,
 * measured on a 64 MiB stream; 8 MiB × 4 peaked near 70 MiB.
 */
export const DEFAULT_PART_SIZE = 5 * 2 ** 20;
/** Parts in flight per multipart upload when config.upload_concurrency is absent (raise it for throughput to AWS). */
export const DEFAULT_UPLOAD_CONCURRENCY = 2;
/** Per-request timeout when config.timeout is absent, in seconds. */
export const DEFAULT_TIMEOUT_SECONDS = 15;
/** Longest wait for a TCP/TLS connection, whatever config.timeout says. */
export const MAX_CONNECT_TIMEOUT_MS = 5000;
/** Attempts per request when config.max_attempts is absent. */
export const DEFAULT_MAX_ATTEMPTS = 3;

/** Static credentials; absent means the SDK's default provider chain. */
export interface S3Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

/** An s3 disk's config, validated and with every default applied. */
export interface S3Settings {
  bucket: string;
  region: string;
  /** S3-compatible endpoint without a trailing slash, or undefined for AWS. */
  endpoint?: string;
  pathStyle: boolean;
  credentials?: S3Credentials;
  /** Disk root inside the bucket: '' or 'a/b' (no slashes at the ends). */
  prefix: string;
  partSize: number;
  uploadConcurrency: number;
  /** Idle timeout per request (no bytes moving), in milliseconds. */
  requestTimeoutMs: number;
  connectTimeoutMs: number;
  maxAttempts: number;
}

/**
 * Validates an s3 disk config and applies defaults. Throws FsError EINVAL
 * naming the disk and the key for: a part size outside 5 MiB..5 GiB, a key
 * without a secret (or a secret or session token without a key), an endpoint
 * that is not http(s).
 *
 * Credentials: with `key` and `secret` they are used as given; with neither,
 * the AWS SDK's default chain applies (environment, shared config, SSO, web
 * identity, instance metadata), also with a custom `endpoint` — MinIO and R2
 * users commonly export AWS_ACCESS_KEY_ID. When the chain finds nothing, the
 * first request fails with EACCES.
 */
export function resolveS3Settings(config: S3DiskConfig, diskName: string): S3Settings {
  const fail = (message: string) => new FsError('EINVAL', `disk '${diskName}' (s3): ${message}`, { op: 'config' });
  const partSize = parseSize(config.part_size ?? DEFAULT_PART_SIZE);
  if (partSize < MIN_PART_SIZE || partSize > MAX_PART_SIZE) {
    throw fail(`part_size ${String(config.part_size)} is ${partSize} bytes; S3 needs 5 MiB..5 GiB`);
  }
  const timeoutMs = Math.round((config.timeout ?? DEFAULT_TIMEOUT_SECONDS) * 1000);
  const settings: S3Settings = {
    bucket: config.bucket,
    region: config.region,
    pathStyle: config.path_style ?? false,
    prefix: trimSlashes(config.prefix ?? ''),
    partSize,
    uploadConcurrency: config.upload_concurrency ?? DEFAULT_UPLOAD_CONCURRENCY,
    requestTimeoutMs: timeoutMs,
    connectTimeoutMs: Math.min(timeoutMs, MAX_CONNECT_TIMEOUT_MS),
    maxAttempts: config.max_attempts ?? DEFAULT_MAX_ATTEMPTS,
  };
  if (config.endpoint !== undefined) {
    if (!/^https?:\/\//i.test(config.endpoint)) throw fail(`endpoint '${config.endpoint}' must start with http:// or https://`);
    settings.endpoint = config.endpoint.replace(/\/+$/, '');
  }
  const credentials = resolveCredentials(config, fail);
  if (credentials) settings.credentials = credentials;
  return settings;
}

function resolveCredentials(config: S3DiskConfig, fail: (message: string) => FsError): S3Credentials | undefined {
  const { key, secret, session_token: sessionToken } = config;
  if (key === undefined && secret === undefined) {
    if (sessionToken !== undefined) throw fail('session_token is set without key and secret');
    return undefined;
  }
  if (key === undefined || key === '') throw fail('secret is set without key');
  if (secret === undefined || secret === '') throw fail(`key '${key}' is set without secret`);
  return { accessKeyId: key, secretAccessKey: secret, ...(sessionToken !== undefined ? { sessionToken } : {}) };
}

function trimSlashes(prefix: string): string {
  return prefix.replace(/^\/+|\/+$/g, '');
}
