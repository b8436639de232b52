import { afterAll, beforeAll, describe } from 'vitest';
import type { Target } from '../support/target.js';
import { attributeCases } from './attrs.js';
import { suiteContext, type SuiteContext } from './context.js';
import { directoryCases } from './dirs.js';
import { errorCases } from './errors.js';
import { fileCases } from './files.js';
import { linkCases } from './links.js';
import { persistenceCases } from './persistence.js';

/**
 * The VFS functional suite, written once: `start` gives the filesystem under
 * test (the Vfs called directly, or a real mount) on one backend; `extra`
 * adds cases only some targets can run. Every test
 * works in its own folder; the remount tests restart the target in place.
 */
export function defineVfsSuite(name: string, start: () => Promise<Target>, extra?: (ctx: SuiteContext) => void): void {
  let target: Target | undefined;
  describe(name, { timeout: 60_000 }, () => {
    beforeAll(async () => {
      target = await start();
    }, 120_000);
    afterAll(async () => {
      await target?.close();
    }, 120_000);
    const ctx = suiteContext(() => target);
    fileCases(ctx);
    directoryCases(ctx);
    linkCases(ctx);
    attributeCases(ctx);
    errorCases(ctx);
    persistenceCases(ctx);
    extra?.(ctx);
  });
}
