import { join } from 'node:path';
import { isFsError } from '../../../core/errors.js';
import type { Step, StepContext, StepOutcome } from '../types.js';
import { copyFileReplaceable, writeStreamDurably } from './files.js';

/** Name of the staged copy inside the job's work folder. */
export const STAGED_SOURCE = 'source';

/**
 * The first step of every pipeline: copies the job's file from its folder
 * into `<workDir>/source` (temp name, rename; the kernel copies a local
 * folder's file without fsync — a resumed job whose copy was lost stages
 * again, see dispatcher-run checkStaged — others are streamed and fsynced)
 * so later steps read
 * bytes that cannot change under them. The file gone, or not of the job's
 * size (before or after the copy), means a newer version (or none) takes
 * over: 'superseded'. Output: the staged path. Idempotent: a re-run copies
 * again over the same name.
 */
export function stageStep(): Step {
  return {
    name: 'stage',
    run: stage,
  };
}

async function stage(ctx: StepContext): Promise<StepOutcome> {
  const { job, folder } = ctx;
  const now = await folder.stat(job.path);
  if (now === undefined) return { kind: 'superseded', reason: `'${job.path}' is gone` };
  if (now.size !== job.size) return changed(job.path, job.size, now.size);
  const staged = join(ctx.workDir, STAGED_SOURCE);
  let copied: number;
  try {
    // A local file is copied by the kernel (a reflink where the file system has them) and not fsynced:
    // the dispatcher stages again when a resumed job finds the copy lost (checkStaged). Others stream, durably.
    const local = folder.localPath?.(job.path);
    copied = local !== undefined ? await copyFileReplaceable(local, staged, { signal: ctx.signal }) : await writeStreamDurably(staged, await folder.read(job.path), { signal: ctx.signal });
  } catch (err) {
    if (isFsError(err, 'ENOENT')) return { kind: 'superseded', reason: `'${job.path}' is gone` };
    throw err;
  }
  if (copied !== job.size) return changed(job.path, job.size, copied);
  return { kind: 'next', output: staged, detail: { bytes: copied } };
}

function changed(path: string, expected: number, found: number): StepOutcome {
  return { kind: 'superseded', reason: `'${path}' changed: the job is for ${expected} bytes, the file has ${found}` };
}
