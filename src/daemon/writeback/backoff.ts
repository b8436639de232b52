/** Share of a retry delay added or taken at random, so failed jobs do not retry in lockstep. */
export const RETRY_JITTER = 0.1;

/**
 * The delay before retrying after the `attempts`-th consecutive failure
 * (attempts >= 1): `retryDelayMs * 2^(attempts-1)` capped at
 * `maxRetryDelayMs`, then scaled by a random factor in [1-RETRY_JITTER,
 * 1+RETRY_JITTER] and capped again, so it never exceeds the cap. `random`
 * returns [0, 1) (default Math.random). A whole number of ms, >= 0.
 */
export function retryDelay(
  attempts: number,
  retryDelayMs: number,
  maxRetryDelayMs: number,
  random: () => number = Math.random,
): number {
  // Bounded so that a long failure streak (or a 0 ms base) never makes Infinity or NaN.
  const exponent = Math.min(52, Math.max(0, Math.floor(attempts) - 1));
  const base = Math.min(maxRetryDelayMs, retryDelayMs * 2 ** exponent);
  const jittered = base * (1 - RETRY_JITTER + 2 * RETRY_JITTER * random());
  return Math.max(0, Math.round(Math.min(maxRetryDelayMs, jittered)));
}
