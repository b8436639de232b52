import { join } from 'node:path';
import type { EncodedImage } from '../../../processing/images/index.js';
import type { DropFileVersion, StepContext } from '../types.js';
import { writeBytesDurably } from './files.js';

/**
 * Writes an in-place step's result to `<workDir>/after-<step>` (durably) and
 * resolves to that path: the input of the following steps. Deterministic
 * name, so a re-run of the step overwrites its own output.
 */
export async function writeStepOutput(ctx: StepContext, step: string, image: EncodedImage): Promise<string> {
  const output = join(ctx.workDir, `after-${step}`);
  await writeBytesDurably(output, image.bytes, { signal: ctx.signal });
  return output;
}

/**
 * The version a step just wrote at `path` in the folder, for its detail
 * (`written`): lets the engine tell its own writes from new arrivals when the
 * folder reports them. Undefined when the file is not there.
 */
export async function versionWritten(ctx: StepContext, path: string): Promise<DropFileVersion | undefined> {
  return ctx.folder.stat(path);
}

/** The detail fields every in-place step reports about the image it produced. */
export function imageDetail(image: EncodedImage): Record<string, unknown> {
  return { format: image.format, width: image.width, height: image.height, bytes: image.bytes.length };
}
