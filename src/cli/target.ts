import { suggest } from '../core/config/errors.js';
import { FsError } from '../core/errors.js';
import { normalizeDirectory } from '../core/paths.js';

/** A `disk:path` argument, resolved against the configured disks. */
export interface Target {
  /** The configured disk's name. */
  disk: string;
  /** Normalized, root-relative path ('' for the disk root). */
  path: string;
}

/**
 * Parses `disk:path`, `disk:` (the root), `disk:/a/b` (same as `disk:a/b`)
 * or a bare `path` on the default disk. The part before the first ':' must be
 * a configured disk; otherwise FsError EINVAL naming it, with a suggestion.
 * The path is normalized (EINVAL for '..' escaping the root, NUL bytes...).
 */
export function parseTarget(spec: string, diskNames: readonly string[], defaultDisk: string): Target {
  const colon = spec.indexOf(':');
  let disk = defaultDisk;
  let rest = spec;
  if (colon >= 0) {
    const named = spec.slice(0, colon);
    rest = spec.slice(colon + 1);
    if (named !== '') {
      if (!diskNames.includes(named)) throw unknownDisk(named, diskNames, defaultDisk);
      disk = named;
    }
  }
  return { disk, path: normalizeDirectory(rest.replace(/^\/+/, '')) };
}

/** FsError EINVAL for a disk name that is not configured. */
export function unknownDisk(name: string, diskNames: readonly string[], defaultDisk?: string): FsError {
  const hint = suggest(name, diskNames);
  const escape = defaultDisk ? `; for a path containing ':' on the default disk write ${defaultDisk}:PATH` : '';
  return new FsError(
    'EINVAL',
    `unknown disk '${name}'${hint ? ` (did you mean '${hint}'?)` : ''}; configured disks: ${diskNames.join(', ')}${escape}`,
    { op: 'disk' },
  );
}

/** `disk:path` as users type it, for messages. */
export function showTarget(target: Target): string {
  return `${target.disk}:${target.path}`;
}
