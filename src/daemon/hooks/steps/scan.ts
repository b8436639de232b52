import { createReadStream } from 'node:fs';
import { FsError } from '../../../core/errors.js';
import type { ClamdScanner } from '../../../processing/scan/index.js';
import type { Step, StepContext, StepOutcome } from '../types.js';

/** Options of the scan step: the clamd client (built once from config `clamd:` by the caller). */
export interface ScanStepOptions {
  scanner: ClamdScanner;
}

/**
 * Streams the staged copy to clamd (INSTREAM). Infected: 'quarantine' with
 * the signature. Clean: 'next' with `{ verdict: 'clean' }`. Every scanner
 * failure (down, timeout, size refused, protocol) is thrown as the scanner's
 * FsError (ECONNREFUSED, ETIMEDOUT, EFBIG, EIO...): a scan failure is never
 * a pass, and the dispatcher retries the scan step forever.
 */
export function scanStep(options: ScanStepOptions): Step {
  return {
    name: 'scan',
    async run(ctx: StepContext): Promise<StepOutcome> {
      const source = createReadStream(ctx.input);
      const stop = (): void => {
        source.destroy(new FsError('ECANCELED', `virus scan of '${ctx.job.path}' stopped: the job was stopped`, { path: ctx.job.path, op: 'scan' }));
      };
      if (ctx.signal.aborted) stop();
      ctx.signal.addEventListener('abort', stop, { once: true });
      try {
        const result = await options.scanner.scan(source, { name: ctx.job.path });
        if (result.verdict === 'infected') return { kind: 'quarantine', signature: result.signature };
        return { kind: 'next', detail: { verdict: 'clean' } };
      } finally {
        ctx.signal.removeEventListener('abort', stop);
      }
    },
  };
}
