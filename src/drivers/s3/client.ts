import { S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import { PerRequestRetryStrategy } from './retry-strategy.js';
import type { S3Settings } from './settings.js';

/**
 * Builds the S3 client of one disk. Always:
 * - requestChecksumCalculation / responseChecksumValidation 'WHEN_REQUIRED':
 *   with the SDK's default ('WHEN_SUPPORTED') a streamed PutObject is sent
 *   aws-chunked with a trailing checksum, and S3-compatible servers that do
 *   not decode that framing (s3rver, some older MinIO/Ceph) store the framing
 *   inside the object: silent corruption.
 * - bounded connect and idle timeouts and `maxAttempts`, so an unreachable
 *   endpoint fails in seconds rather than minutes of retries.
 * - every request retried on its own, without the SDK's client-wide retry
 *   quota (PerRequestRetryStrategy).
 * No I/O happens here.
 */
export function createS3Client(settings: S3Settings): S3Client {
  const config: S3ClientConfig = {
    region: settings.region,
    forcePathStyle: settings.pathStyle,
    maxAttempts: settings.maxAttempts,
    retryStrategy: new PerRequestRetryStrategy(settings.maxAttempts),
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    // An options object: the SDK builds its own NodeHttpHandler from it, so
    // @smithy/node-http-handler need not be a direct dependency.
    requestHandler: {
      connectionTimeout: settings.connectTimeoutMs,
      requestTimeout: settings.requestTimeoutMs,
    },
  };
  if (settings.endpoint !== undefined) config.endpoint = settings.endpoint;
  // On AWS, a bucket in another region than configured answers 301: follow it.
  else config.followRegionRedirects = true;
  if (settings.credentials) config.credentials = settings.credentials;
  return new S3Client(config);
}
