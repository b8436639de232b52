import { mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { createDispatcher } from '../../../src/daemon/hooks/dispatcher.js';
import { openHooksDatabase } from '../../../src/daemon/hooks/hooks-db.js';
import { openJobStore } from '../../../src/daemon/hooks/job-store.js';
import { LocalDropFolder } from '../../../src/daemon/hooks/local-folder.js';
import { stageStep, STAGED_SOURCE } from '../../../src/daemon/hooks/steps/stage.js';
import type { Step } from '../../../src/daemon/hooks/types.js';

/**
 * A local folder's file is staged by the kernel without fsync (cheap); a
 * power cut may lose that copy while the database already says the job
 * staged it. A resumed job finds that out (the copy missing or not of the
 * job's size) and stages again instead of running on a lost copy.
 */

const silent = pino({ level: 'silent' });
const temps: string[] = [];
afterEach(async () => {
  while (temps.length > 0) await rm(temps.pop()!, { recursive: true, force: true });
});

/** Records the size of the input each run saw. */
function sizeProbe(seen: number[]): Step {
  return {
    name: 'probe',
    async run(ctx) {
      seen.push((await stat(ctx.input)).size);
      return { kind: 'next' };
    },
  };
}

async function crashedAfterStaging(stagedBytes: string | undefined) {
  const base = await mkdtemp(join(tmpdir(), 'storaged-stage-resume-'));
  temps.push(base);
  const root = join(base, 'drop');
  await mkdir(root);
  const content = 'the whole file, 32 bytes long...';
  await writeFile(join(root, 'a.txt'), content);
  const folder = new LocalDropFolder('drop', root);
  const db = openHooksDatabase(join(base, 'cache'));
  const store = openJobStore(db);
  const version = (await folder.stat('a.txt'))!;
  const job = store.submit('drop', version);
  const staging = join(base, 'staging');
  // What the crashed run left: the job running past its stage step, its staged copy as given.
  const workDir = join(staging, String(job.id));
  await mkdir(workDir, { recursive: true });
  if (stagedBytes !== undefined) await writeFile(join(workDir, STAGED_SOURCE), stagedBytes);
  store.start(job.id);
  store.finishStep(job.id, 0, { step: 'stage', ms: 1 }, join(workDir, STAGED_SOURCE));
  const seen: number[] = [];
  const dispatcher = createDispatcher({
    store,
    folders: () => folder,
    steps: () => [stageStep(), sizeProbe(seen)],
    destinations: () => ({ rejectedDir: join(base, 'rejected'), quarantineDir: join(base, 'quarantine') }),
    stagingDir: staging,
    concurrency: 1,
    retryDelayMs: 10,
    maxRetryDelayMs: 100,
    logger: silent,
  });
  await dispatcher.start();
  await dispatcher.idle();
  await dispatcher.stop();
  const ended = store.get(job.id)!;
  db.close();
  return { ended, seen, size: content.length };
}

describe('resuming a job whose staged copy was lost', () => {
  for (const [what, staged] of [
    ['missing', undefined],
    ['empty', ''],
    ['cut short', 'the whole'],
  ] as const) {
    it(`stages again when the copy is ${what}`, async () => {
      const { ended, seen, size } = await crashedAfterStaging(staged);
      expect(ended.state).toBe('done');
      expect(ended.results.map((r) => r.step)).toEqual(['stage', 'probe']);
      expect(seen).toEqual([size]);
    });
  }

  it('goes on from where it was when the copy is intact', async () => {
    const { ended, seen, size } = await crashedAfterStaging('the whole file, 32 bytes long...');
    expect(ended.state).toBe('done');
    // The recorded stage result is the crashed run's (ms 1): staging did not run again.
    expect(ended.results.map((r) => [r.step, r.ms])).toEqual([
      ['stage', 1],
      ['probe', expect.any(Number)],
    ]);
    expect(seen).toEqual([size]);
  });
});
