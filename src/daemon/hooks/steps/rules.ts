import { stat } from 'node:fs/promises';
import { fromSystemError } from '../../../core/errors.js';
import { checkUploadRules, sniffFile, type SniffResult } from '../../../processing/sniff/index.js';
import type { Step, StepContext, StepOutcome } from '../types.js';

/** A folder's upload rules (config `watch.<name>.rules`); an absent rule does not apply. */
export interface RulesStepOptions {
  /** Largest accepted size in bytes. */
  maxSize?: number;
  /** Accepted extensions, with or without the dot, any case; `jpg` admits `.jpeg`. */
  extensions?: readonly string[];
  /** Check that the content sniffed agrees with the extension (a `.jpg` that is a script is refused). Default true. */
  sniff?: boolean;
}

/** True when the options ask for any check at all (the pipeline leaves the step out otherwise). */
export function hasAnyRule(options: RulesStepOptions | undefined): boolean {
  return options !== undefined && (options.maxSize !== undefined || options.extensions !== undefined || options.sniff !== false);
}

/**
 * Checks the staged copy against the upload rules (checkUploadRules: size,
 * extension, sniffed type agreeing with the extension; the name checked is
 * the job's path). A refusal is a 'reject' with the rule ('max-size',
 * 'extension', 'type-mismatch') and its reason. Detail: size and sniffed type.
 */
export function rulesStep(options: RulesStepOptions): Step {
  const sniff = options.sniff !== false;
  const rules = {
    ...(options.maxSize !== undefined ? { maxSize: options.maxSize } : {}),
    ...(options.extensions !== undefined ? { allowedExtensions: options.extensions } : {}),
  };
  return {
    name: 'rules',
    async run(ctx: StepContext): Promise<StepOutcome> {
      const size = (await stat(ctx.input).catch((err: unknown) => Promise.reject(fromSystemError(err, { path: ctx.input, op: 'rules' })))).size;
      const sniffed: SniffResult | undefined = sniff ? await sniffFile(ctx.input) : undefined;
      const detail = { size, ...(sniffed ? { mime: sniffed.mime } : {}) };
      const verdict = checkUploadRules({ name: ctx.job.path, size, sniffed }, rules);
      // checkUploadRules always compares type and extension last: without `sniff` that check is not wanted.
      if (verdict.ok || (!sniff && verdict.rule === 'type-mismatch')) return { kind: 'next', detail };
      return { kind: 'reject', rule: verdict.rule, reason: verdict.reason, detail };
    },
  };
}
