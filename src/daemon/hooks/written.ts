import type { DropFileVersion, HookJob } from './types.js';

/**
 * The versions of files the steps of `job` wrote into its folder (each
 * in-place step's result lists them as `detail.written`: DropFileVersion[]),
 * so the engine tells its own writes from new arrivals after a restart too.
 */
export function versionsWritten(job: Readonly<HookJob>): DropFileVersion[] {
  const versions: DropFileVersion[] = [];
  for (const result of job.results) {
    const written = result.detail?.['written'];
    for (const item of Array.isArray(written) ? written : written === undefined ? [] : [written]) {
      const { path, size, mtimeMs } = (item ?? {}) as Partial<DropFileVersion>;
      if (typeof size === 'number' && typeof mtimeMs === 'number') versions.push({ path: typeof path === 'string' ? path : job.path, size, mtimeMs });
    }
  }
  return versions;
}

/** True when `job` wrote `version` (same path, size and mtime). */
export function wroteVersion(job: Readonly<HookJob>, version: DropFileVersion): boolean {
  return versionsWritten(job).some((w) => w.path === version.path && w.size === version.size && w.mtimeMs === version.mtimeMs);
}
