import type { S3ClientConfig } from '@aws-sdk/client-s3';

/** The SDK's retry strategy interface (v2: tokens), as the S3 client accepts it. */
type RetryStrategyV2 = Extract<NonNullable<S3ClientConfig['retryStrategy']>, { acquireInitialRetryToken: unknown }>;
type RetryToken = Awaited<ReturnType<RetryStrategyV2['acquireInitialRetryToken']>>;
type RetryErrorInfo = Parameters<RetryStrategyV2['refreshRetryTokenForRetry']>[1];

/** First backoff of a transient error, and of throttling (503 SlowDown), in ms; doubled each retry. */
const BASE_DELAY_MS = 100;
const THROTTLING_BASE_DELAY_MS = 500;
/** Longest pause before one retry. */
const MAX_DELAY_MS = 20_000;

/**
 * Retries every request on its own up to `maxAttempts` tries in all, on
 * throttling and transient errors (connection resets, timeouts, 5xx), with
 * full-jitter exponential backoff honouring a server's Retry-After hint.
 *
 * Unlike the SDK's standard strategy there is no client-wide retry quota:
 * that one stops all retries after a long stretch of errors (about a
 * hundred retries more than successes), which makes a flaky network fail
 * whole multipart uploads and directory renames outright. The write-back
 * queue already backs off whole operations during an outage.
 */
export class PerRequestRetryStrategy implements RetryStrategyV2 {
  readonly mode = 'standard';

  /** `random` (0..1) spreads the pauses; tests may pass their own. */
  constructor(
    private readonly maxAttempts: number,
    private readonly random: () => number = Math.random,
  ) {}

  async acquireInitialRetryToken(): Promise<RetryToken> {
    return retryToken(0, 0);
  }

  async refreshRetryTokenForRetry(token: RetryToken, errorInfo: RetryErrorInfo): Promise<RetryToken> {
    const retries = token.getRetryCount() + 1;
    const retryable = errorInfo.errorType === 'TRANSIENT' || errorInfo.errorType === 'THROTTLING';
    if (!retryable || retries >= this.maxAttempts) throw new Error('No retry token available');
    const base = errorInfo.errorType === 'THROTTLING' ? THROTTLING_BASE_DELAY_MS : BASE_DELAY_MS;
    let delay = Math.floor(this.random() * Math.min(MAX_DELAY_MS, base * 2 ** (retries - 1)));
    if (errorInfo.retryAfterHint instanceof Date) delay = Math.max(delay, Math.min(errorInfo.retryAfterHint.getTime() - Date.now(), MAX_DELAY_MS));
    return retryToken(retries, delay);
  }

  recordSuccess(): void {}
}

/** A token saying how many retries were made and how long to wait before the next. */
function retryToken(retryCount: number, retryDelay: number): RetryToken {
  return { getRetryCount: () => retryCount, getRetryDelay: () => retryDelay };
}
