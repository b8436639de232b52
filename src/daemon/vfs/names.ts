import { FsError } from '../../core/errors.js';
import type { KeyLimits } from '../../core/paths.js';

/** POSIX NAME_MAX: the longest name the mount accepts, in UTF-8 bytes. */
export const NAME_MAX = 255;

/**
 * Checks a single path component given to a namespace operation: EINVAL for
 * '', '.', '..', a '/' or a NUL byte; ENAMETOOLONG above NAME_MAX bytes or
 * the backend's own segment limit (s3rver: 233).
 */
export function checkName(name: string, limits: KeyLimits, op: string): void {
  if (name === '' || name === '.' || name === '..' || name.includes('/') || name.includes('\0')) {
    throw new FsError('EINVAL', `${op}: '${printable(name)}' is not a valid file name`, { path: name, op });
  }
  const bytes = Buffer.byteLength(name, 'utf8');
  const max = Math.min(NAME_MAX, limits.maxNameBytes);
  if (bytes > max) {
    throw new FsError('ENAMETOOLONG', `${op}: the name '${printable(name).slice(0, 40)}...' is ${bytes} bytes, the limit is ${max}`, {
      path: name,
      op,
    });
  }
}

/** ENAMETOOLONG when a whole backend key would exceed the backend's key limit. */
export function checkKey(key: string, limits: KeyLimits, op: string): void {
  const bytes = Buffer.byteLength(key, 'utf8');
  if (bytes > limits.maxKeyBytes) {
    throw new FsError('ENAMETOOLONG', `${op}: the path '${key.slice(0, 80)}...' is ${bytes} bytes, the backend allows ${limits.maxKeyBytes}`, {
      path: key,
      op,
    });
  }
}

/** `parent/name` as a backend key ('' is the root). */
export function joinKey(parent: string, name: string): string {
  return parent === '' ? name : `${parent}/${name}`;
}

/** The parent key of a backend key ('' for a top-level name). */
export function parentKey(key: string): string {
  const slash = key.lastIndexOf('/');
  return slash < 0 ? '' : key.slice(0, slash);
}

function printable(name: string): string {
  return name.replace(/[\0-\x1f]/g, '?');
}
