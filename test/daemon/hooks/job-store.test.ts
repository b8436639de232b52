import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FsError } from '../../../src/core/errors.js';
import type { Database } from '../../../src/daemon/db.js';
import { HOOKS_DB_FILE, openHooksDatabase } from '../../../src/daemon/hooks/hooks-db.js';
import { openJobStore, type JobStore } from '../../../src/daemon/hooks/job-store.js';

describe('hook job store (SQLite)', () => {
  let dir: string;
  let db: Database;
  let store: JobStore;
  let clock: number;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'storaged-jobs-'));
    db = openHooksDatabase(dir);
    clock = 1_000_000;
    store = openJobStore(db, { now: () => clock });
  });
  afterEach(async () => {
    if (db.open) db.close();
    await rm(dir, { recursive: true, force: true });
  });

  const version = (path: string, size = 10, mtimeMs = 1_700_000_000_123.456) => ({ path, size, mtimeMs });

  it('creates hooks.db in the cache folder with the hooks module migrated', () => {
    expect(db.name).toBe(join(dir, HOOKS_DB_FILE));
    expect(db.prepare('SELECT version FROM schema_versions WHERE module = ?').pluck().get('hooks')).toBe(1);
    const indexes = db.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'hook_jobs'").pluck().all();
    expect(indexes).toEqual(expect.arrayContaining(['hook_jobs_due', 'hook_jobs_path']));
  });

  it('records a queued job due now, with the exact version (fractional mtime kept)', () => {
    const job = store.submit('inbox', version('a/scan.pdf'));
    expect(job).toMatchObject({
      watch: 'inbox',
      path: 'a/scan.pdf',
      size: 10,
      mtimeMs: 1_700_000_000_123.456,
      state: 'queued',
      step: 0,
      attempts: 0,
      nextAtMs: clock,
      results: [],
      createdMs: clock,
    });
    expect(job.input).toBeUndefined();
    expect(store.get(job.id)).toEqual(job);
  });

  it('is idempotent per version: the same job back whatever its state', () => {
    const first = store.record('inbox', version('a.jpg'));
    expect(first.created).toBe(true);
    const again = store.record('inbox', version('a.jpg'));
    expect(again).toMatchObject({ created: false, superseded: [] });
    expect(again.job.id).toBe(first.job.id);
    store.start(first.job.id);
    expect(store.submit('inbox', version('a.jpg')).id).toBe(first.job.id);
    store.finish(first.job.id, 'done');
    expect(store.submit('inbox', version('a.jpg'))).toMatchObject({ id: first.job.id, state: 'done' });
    // Another watch, or another path, is another job.
    expect(store.submit('other', version('a.jpg')).id).not.toBe(first.job.id);
    expect(store.submit('inbox', version('b.jpg')).id).not.toBe(first.job.id);
    expect(store.jobsOf('inbox', 'a.jpg')).toHaveLength(1);
  });

  it('a newer version supersedes the unfinished jobs of the path, not the finished ones', () => {
    const done = store.submit('inbox', version('a.jpg', 1, 1));
    store.start(done.id);
    store.finish(done.id, 'done');
    const queued = store.submit('inbox', version('a.jpg', 2, 2));
    const running = store.submit('inbox', version('a.jpg', 3, 3));
    expect(store.get(queued.id)?.state).toBe('superseded');
    store.start(running.id);
    const newest = store.record('inbox', version('a.jpg', 4, 4));
    expect(newest.superseded).toEqual([running.id]);
    expect(store.get(running.id)).toMatchObject({ state: 'superseded', outcome: { reason: expect.stringContaining('a.jpg') } });
    expect(store.get(done.id)?.state).toBe('done');
    // The running job's own writes are refused now.
    expect(store.finishStep(running.id, 0, { step: 'stage', ms: 1 })).toBeUndefined();
    expect(store.fail(running.id, { code: 'EIO', message: 'x' }, clock)).toBeUndefined();
    expect(store.finish(running.id, 'done')).toBeUndefined();
    expect(store.jobsOf('inbox', 'a.jpg').map((job) => job.state)).toEqual(['done', 'superseded', 'superseded', 'queued']);
  });

  it('the same version as a superseded newest job is a new job (the file came back)', () => {
    const job = store.submit('inbox', version('a.jpg'));
    store.start(job.id);
    store.finish(job.id, 'superseded', { reason: 'gone' });
    const back = store.submit('inbox', version('a.jpg'));
    expect(back.id).not.toBe(job.id);
    expect(back.state).toBe('queued');
  });

  it('lists due jobs by due time, up to a limit, and knows the next due time', () => {
    const a = store.submit('inbox', version('a'));
    clock += 10;
    const b = store.submit('inbox', version('b'));
    clock += 10;
    const c = store.submit('inbox', version('c'));
    store.start(a.id);
    store.fail(a.id, { code: 'EIO', message: 'disk' }, clock + 1000);
    expect(store.due(clock, 10).map((job) => job.id)).toEqual([b.id, c.id]);
    expect(store.due(clock, 1).map((job) => job.id)).toEqual([b.id]);
    expect(store.due(clock - 10, 10).map((job) => job.id)).toEqual([b.id]);
    expect(store.nextDueMs()).toBe(b.nextAtMs);
    store.start(b.id);
    store.start(c.id);
    expect(store.due(clock, 10)).toEqual([]);
    expect(store.nextDueMs()).toBe(clock + 1000);
    expect(store.due(clock + 1000, 10).map((job) => job.id)).toEqual([a.id]);
  });

  it('start only takes queued jobs; finishStep records results, advances, resets attempts, keeps or replaces the input', () => {
    const job = store.submit('inbox', version('a'));
    expect(store.start(job.id)?.state).toBe('running');
    expect(store.start(job.id)).toBeUndefined();
    store.fail(job.id, { code: 'EIO', message: 'first try' }, clock);
    store.start(job.id);
    const staged = store.finishStep(job.id, 0, { step: 'stage', ms: 5, detail: { bytes: 10 } }, '/stage/1/source');
    expect(staged).toMatchObject({ step: 1, attempts: 0, input: '/stage/1/source', state: 'running' });
    expect(staged?.lastError).toMatchObject({ code: 'EIO', message: 'first try' });
    // A repeated finish of the same step (a duplicate) changes nothing.
    expect(store.finishStep(job.id, 0, { step: 'stage', ms: 5 })).toBeUndefined();
    const hashed = store.finishStep(job.id, 1, { step: 'hash', ms: 2, detail: { sha256: 'ab' } });
    expect(hashed).toMatchObject({ step: 2, input: '/stage/1/source' });
    expect(hashed?.results).toEqual([
      { step: 'stage', ms: 5, detail: { bytes: 10 } },
      { step: 'hash', ms: 2, detail: { sha256: 'ab' } },
    ]);
  });

  it('fail counts attempts, keeps the last error and puts the job back in the queue at its retry time', () => {
    const job = store.submit('inbox', version('a'));
    store.start(job.id);
    const failed = store.fail(job.id, { code: 'ECONNREFUSED', message: 'clamd down' }, clock + 500);
    expect(failed).toMatchObject({ state: 'queued', attempts: 1, nextAtMs: clock + 500, lastError: { code: 'ECONNREFUSED', message: 'clamd down', atMs: clock } });
    store.start(job.id);
    clock += 500;
    expect(store.fail(job.id, { code: 'ETIMEDOUT', message: 'slow' }, clock + 1000)).toMatchObject({ attempts: 2, lastError: { code: 'ETIMEDOUT', atMs: clock } });
    expect(store.failing().map((row) => row.id)).toEqual([job.id]);
    const long = 'x'.repeat(10_000);
    store.start(job.id);
    expect(store.fail(job.id, { code: 'EIO', message: long }, clock)?.lastError?.message.length).toBeLessThan(2100);
  });

  it('finish ends a job once, with its outcome and error; only final states', () => {
    const job = store.submit('inbox', version('a'));
    expect(() => store.finish(job.id, 'running')).toThrow(FsError);
    try {
      store.finish(job.id, 'queued');
    } catch (err) {
      expect((err as FsError).code).toBe('EINVAL');
    }
    store.start(job.id);
    const ended = store.finish(job.id, 'failed', { step: 'command', code: 'EPERM', message: 'exit 3' }, { code: 'EPERM', message: 'exit 3' });
    expect(ended).toMatchObject({ state: 'failed', outcome: { step: 'command', code: 'EPERM' }, lastError: { code: 'EPERM' } });
    expect(store.finish(job.id, 'done')).toBeUndefined();
    expect(store.get(job.id)?.state).toBe('failed');
  });

  it('unfinished jobs survive a reopen; running ones are put back in the queue at their step', () => {
    const a = store.submit('inbox', version('a'));
    const b = store.submit('inbox', version('b'));
    const c = store.submit('inbox', version('c'));
    store.start(a.id);
    store.finishStep(a.id, 0, { step: 'stage', ms: 1 }, '/s/a');
    store.start(c.id);
    store.finish(c.id, 'done');
    db.close();
    db = openHooksDatabase(dir);
    store = openJobStore(db, { now: () => clock });
    expect(store.unfinished().map((job) => [job.id, job.state])).toEqual([
      [a.id, 'running'],
      [b.id, 'queued'],
    ]);
    expect(store.unfinishedCount()).toBe(2);
    expect(store.requeueRunning()).toBe(1);
    expect(store.get(a.id)).toMatchObject({ state: 'queued', step: 1, input: '/s/a', attempts: 0 });
    expect(store.due(clock, 10).map((job) => job.id)).toEqual([a.id, b.id]);
  });

  it('counts jobs per watch and state, and tells newer unfinished jobs of a path', () => {
    const a = store.submit('inbox', version('a'));
    store.submit('inbox', version('b'));
    const c = store.submit('photos', version('c'));
    store.start(a.id);
    store.finish(a.id, 'rejected', { rule: 'extension', reason: 'not allowed' });
    store.start(c.id);
    const counts = store.counts();
    expect(counts.get('inbox')).toEqual({ queued: 1, running: 0, done: 0, rejected: 1, quarantined: 0, failed: 0, superseded: 0 });
    expect(counts.get('photos')).toMatchObject({ running: 1, queued: 0 });
    const newer = store.submit('photos', version('c', 99));
    expect(store.hasNewerUnfinished('photos', 'c', c.id)).toBe(true);
    expect(store.hasNewerUnfinished('photos', 'c', newer.id)).toBe(false);
  });

  it('refuses an invalid version with EINVAL', () => {
    for (const bad of [version(''), version('a', -1), version('a', 1.5), version('a', 1, Number.NaN)]) {
      expect(() => store.submit('inbox', bad)).toThrow(expect.objectContaining({ code: 'EINVAL' }));
    }
    expect(() => store.submit('', version('a'))).toThrow(expect.objectContaining({ code: 'EINVAL' }));
  });
});
