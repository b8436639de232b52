import { describe, expect, it } from 'vitest';
import { PerRequestRetryStrategy } from '../../src/drivers/s3/retry-strategy.js';

type ErrorInfo = Parameters<PerRequestRetryStrategy['refreshRetryTokenForRetry']>[1];
const transient = { errorType: 'TRANSIENT' } as ErrorInfo;

/** Retries one request until the strategy refuses; returns the delays it asked for. */
async function retriesOf(strategy: PerRequestRetryStrategy, errorInfo: ErrorInfo): Promise<number[]> {
  let token = await strategy.acquireInitialRetryToken();
  const delays: number[] = [];
  for (;;) {
    try {
      token = await strategy.refreshRetryTokenForRetry(token, errorInfo);
    } catch {
      return delays;
    }
    delays.push(token.getRetryDelay());
  }
}

describe('PerRequestRetryStrategy', () => {
  it('retries transient errors until maxAttempts tries were made, with growing pauses', async () => {
    const delays = await retriesOf(new PerRequestRetryStrategy(5, () => 0.999), transient);
    expect(delays).toHaveLength(4);
    expect(delays).toEqual([...delays].sort((a, b) => a - b));
    expect(delays[0]).toBeLessThan(100);
    expect(delays[3]).toBeGreaterThan(700);
  });

  it('does not retry client errors (a 403 or 404 stays what it is)', async () => {
    expect(await retriesOf(new PerRequestRetryStrategy(5), { errorType: 'CLIENT_ERROR' } as ErrorInfo)).toEqual([]);
  });

  it('keeps retrying each request through a long stretch of errors: no client-wide quota', async () => {
    const strategy = new PerRequestRetryStrategy(3, () => 0);
    for (let request = 0; request < 1000; request++) expect(await retriesOf(strategy, transient)).toHaveLength(2);
  });

  it('waits at least as long as a Retry-After hint asks (up to 20 s)', async () => {
    const strategy = new PerRequestRetryStrategy(3, () => 0);
    const token = await strategy.refreshRetryTokenForRetry(await strategy.acquireInitialRetryToken(), {
      errorType: 'THROTTLING',
      retryAfterHint: new Date(Date.now() + 5000),
    } as ErrorInfo);
    expect(token.getRetryDelay()).toBeGreaterThan(4000);
    expect(token.getRetryDelay()).toBeLessThanOrEqual(5000);
  });
});
