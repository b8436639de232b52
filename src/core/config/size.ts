import { FsError } from '../errors.js';

const UNITS: Record<string, number> = {
  b: 1,
  k: 1e3, kb: 1e3, m: 1e6, mb: 1e6, g: 1e9, gb: 1e9, t: 1e12, tb: 1e12,
  kib: 2 ** 10, mib: 2 ** 20, gib: 2 ** 30, tib: 2 ** 40,
};

/**
 * Parses a size such as `10GiB`, `512 MB`, `1.5g` or a plain number of bytes.
 * Decimal units (KB, MB) are powers of 1000, binary ones (KiB, MiB) of 1024.
 * Throws FsError EINVAL naming the value when it cannot be read.
 */
export function parseSize(value: string | number): number {
  if (typeof value === 'number') {
    if (Number.isFinite(value) && value >= 0) return Math.floor(value);
    throw new FsError('EINVAL', `invalid size ${value}: expected a non-negative number of bytes`);
  }
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(value);
  const unit = match ? (match[2] ?? '').toLowerCase() : '';
  const factor = unit === '' ? 1 : UNITS[unit];
  if (!match || factor === undefined) {
    throw new FsError('EINVAL', `invalid size '${value}': expected a number with an optional unit (B, KB, MB, GB, KiB, MiB, GiB, TiB)`);
  }
  return Math.floor(Number(match[1]) * factor);
}
