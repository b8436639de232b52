import { join } from 'node:path';
import { openDatabaseReadOnly } from '../db.js';
import type { FailingJob, WatchStatus } from './dispatcher-types.js';
import { HOOKS_DB_FILE } from './hooks-db.js';
import { emptyCounts, openJobStore, type JobStore } from './job-store.js';

/**
 * Per watch with jobs: counts by state from the durable record, the jobs
 * running in this process (`runningByWatch`; without it, the jobs the
 * record shows running), and the failing ones. Sorted by watch name.
 */
export function watchStatuses(store: JobStore, runningByWatch?: ReadonlyMap<string, number>): WatchStatus[] {
  const statuses = new Map<string, WatchStatus>();
  const of = (watch: string): WatchStatus => {
    let status = statuses.get(watch);
    if (status === undefined) statuses.set(watch, (status = { watch, counts: emptyCounts(), running: 0, failing: [] }));
    return status;
  };
  for (const [watch, counts] of store.counts()) {
    const status = of(watch);
    status.counts = counts;
    status.running = runningByWatch === undefined ? counts.running : 0;
  }
  for (const [watch, running] of runningByWatch ?? []) of(watch).running = running;
  for (const job of store.failing()) {
    const failing: FailingJob = { id: job.id, path: job.path, step: job.step, attempts: job.attempts, nextAtMs: job.nextAtMs };
    if (job.lastError !== undefined) failing.lastError = job.lastError;
    of(job.watch).failing.push(failing);
  }
  return [...statuses.values()].sort((a, b) => a.watch.localeCompare(b.watch));
}

/**
 * The watch statuses recorded in `<dir>/hooks.db`, read without writing
 * (works while the engine running them writes); undefined when the
 * database does not exist yet. FsError EIO when it cannot be read.
 */
export function readWatchStatuses(dir: string): WatchStatus[] | undefined {
  const db = openDatabaseReadOnly(join(dir, HOOKS_DB_FILE));
  if (db === undefined) return undefined;
  try {
    return watchStatuses(openJobStore(db));
  } finally {
    db.close();
  }
}
