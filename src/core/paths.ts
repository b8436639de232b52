import { FsError } from './errors.js';

/** Limits a backend places on keys; drivers publish theirs in capabilities. */
export interface KeyLimits {
  /** Longest single path segment, in UTF-8 bytes (POSIX NAME_MAX is 255). */
  maxNameBytes: number;
  /** Longest whole key, in UTF-8 bytes (S3 allows 1024). */
  maxKeyBytes: number;
}

export const DEFAULT_KEY_LIMITS: KeyLimits = { maxNameBytes: 255, maxKeyBytes: 1024 };

/**
 * The one key normalizer. Turns a user path into a root-relative key:
 * segments joined by '/', no leading or trailing slash, '.' and empty
 * segments dropped, '..' resolved inside the root. Unicode is kept exactly as
 * given (NFC and NFD names stay distinct) and so are spaces, '#', '%', '+'.
 *
 * Throws FsError EINVAL for an empty path, a NUL byte, an absolute path or a
 * '..' that climbs out of the root; ENAMETOOLONG when a segment or the whole
 * key exceeds `limits`. Nothing is touched before these checks pass.
 */
export function normalizeKey(input: string, limits: KeyLimits = DEFAULT_KEY_LIMITS): string {
  const key = normalizeInternal(input, limits, false);
  if (key === '') throw new FsError('EINVAL', `invalid path '${input}': it names the root, not a file`, { path: input, op: 'path' });
  return key;
}

/**
 * Like normalizeKey, for a directory argument: '' and '.' name the root and
 * normalize to ''. Every other rule is the same.
 */
export function normalizeDirectory(input: string, limits: KeyLimits = DEFAULT_KEY_LIMITS): string {
  return normalizeInternal(input, limits, true);
}

function normalizeInternal(input: string, limits: KeyLimits, allowRoot: boolean): string {
  if (typeof input !== 'string') {
    throw new FsError('EINVAL', `invalid path: expected a string, got ${typeof input}`, { op: 'path' });
  }
  const shown = printable(input);
  if (input.includes('\0')) {
    throw new FsError('EINVAL', `invalid path '${shown}': contains a NUL byte`, { path: input, op: 'path' });
  }
  if (input === '' && !allowRoot) {
    throw new FsError('EINVAL', 'invalid path: empty', { path: input, op: 'path' });
  }
  if (input.startsWith('/')) {
    throw new FsError('EINVAL', `invalid path '${shown}': absolute paths are not allowed, give a path relative to the disk root`, {
      path: input,
      op: 'path',
    });
  }
  const out: string[] = [];
  for (const segment of input.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') {
      if (out.length === 0) {
        throw new FsError('EINVAL', `invalid path '${shown}': '..' climbs out of the disk root`, { path: input, op: 'path' });
      }
      out.pop();
      continue;
    }
    const bytes = Buffer.byteLength(segment, 'utf8');
    if (bytes > limits.maxNameBytes) {
      throw new FsError(
        'ENAMETOOLONG',
        `invalid path '${shown}': the name '${segment.slice(0, 40)}...' is ${bytes} bytes, the limit is ${limits.maxNameBytes}`,
        { path: input, op: 'path' },
      );
    }
    out.push(segment);
  }
  const key = out.join('/');
  const keyBytes = Buffer.byteLength(key, 'utf8');
  if (keyBytes > limits.maxKeyBytes) {
    throw new FsError('ENAMETOOLONG', `invalid path '${shown.slice(0, 80)}...': ${keyBytes} bytes, the limit is ${limits.maxKeyBytes}`, {
      path: input,
      op: 'path',
    });
  }
  if (key === '' && !allowRoot) {
    throw new FsError('EINVAL', `invalid path '${shown}': it names the root, not a file`, { path: input, op: 'path' });
  }
  return key;
}

/** Joins normalized keys with '/', skipping empty parts (the root). */
export function joinKey(...parts: string[]): string {
  return parts.filter((p) => p !== '').join('/');
}

/** The parent directory of a normalized key ('' for a top-level entry). */
export function parentKey(key: string): string {
  const slash = key.lastIndexOf('/');
  return slash < 0 ? '' : key.slice(0, slash);
}

/** The last segment of a normalized key. */
export function baseName(key: string): string {
  return key.slice(key.lastIndexOf('/') + 1);
}

/** True when `key` is `dir` itself or lies below it ('' contains everything). */
export function isWithin(key: string, dir: string): boolean {
  return dir === '' || key === dir || key.startsWith(dir + '/');
}

function printable(input: string): string {
  return input.replace(/\0/g, '\\0');
}
