import { rename, writeFile } from 'node:fs/promises';
import { fromSystemError, isFsError } from '../../core/errors.js';
import { wroteVersion } from './written.js';
import type { DropFileVersion, DropFolder, HookJob } from './types.js';

/** The local folders a watch's refused files go to. */
export interface Destinations {
  /** Files a rule or an image check refused (with `<file>.reason.json`). */
  rejectedDir: string;
  /** Infected files (with `<file>.reason.json` naming the signature). */
  quarantineDir: string;
}

/**
 * Moves the file of `job` out of `folder` into the local folder `into` and
 * writes `<set-aside path>.reason.json` holding `reason` (atomically: a
 * temporary file renamed). Resolves to the set-aside path, or undefined
 * when the folder now holds another version of the file than the job's or
 * one an earlier step of the job wrote (a step result's `detail.written`
 * { size, mtimeMs }): it changed after the step judged it, and the newer
 * version is not this job's to move. Also undefined when the
 * file is gone without a previous move of it in `into`. Repeating it after
 * a crash finds the earlier move (DropFolder.setAside is idempotent) and
 * rewrites the same reason. Never deletes content.
 */
export async function setAsideWithReason(
  folder: DropFolder,
  job: Readonly<HookJob>,
  into: string,
  reason: Record<string, unknown>,
): Promise<string | undefined> {
  const current = await folder.stat(job.path);
  if (current !== undefined && !isJobsVersion(job, current)) return undefined;
  let where: string;
  try {
    where = await folder.setAside(job.path, into);
  } catch (err) {
    if (isFsError(err, 'ENOENT')) return undefined;
    throw err;
  }
  const file = `${where}.reason.json`;
  const temporary = `${file}.${process.pid}.tmp`;
  try {
    await writeFile(temporary, `${JSON.stringify(reason, null, 2)}\n`);
    await rename(temporary, file);
  } catch (err) {
    throw fromSystemError(err, { path: file, op: 'write reason' });
  }
  return where;
}

/** True when `version` is the one the job was submitted for, or one a step of the job wrote itself. */
function isJobsVersion(job: Readonly<HookJob>, version: DropFileVersion): boolean {
  const same = (size: unknown, mtimeMs: unknown) => size === version.size && mtimeMs === version.mtimeMs;
  if (same(job.size, job.mtimeMs)) return true;
  return wroteVersion(job, { ...version, path: job.path });
}
