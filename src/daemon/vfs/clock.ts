/**
 * Wall-clock time in nanoseconds for inode times. Date.now() has millisecond
 * resolution; consecutive calls are made strictly increasing so that two
 * changes in the same millisecond still get different mtimes/ctimes.
 */
let last = 0n;

/** Nanoseconds since the epoch, strictly increasing within this process. */
export function nowNs(): bigint {
  const wall = BigInt(Date.now()) * 1_000_000n;
  last = wall > last ? wall : last + 1n;
  return last;
}
