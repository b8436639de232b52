import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { retryDelay } from '../../../src/daemon/writeback/backoff.js';
import { createUploadScheduler } from '../../../src/daemon/writeback/scheduler.js';
import type { SchedulerOptions, UploadJob, UploadScheduler } from '../../../src/daemon/writeback/types.js';

/** Polls `condition` until true; fails after a generous time (the box is shared and slow). */
async function waitFor(condition: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(2);
  }
}

/** A job that waits for its signal, then rejects a little later (a slow upload noticing the abort). */
function untilAborted(onStart: (signal: AbortSignal) => void, settleDelayMs = 30, onSettled?: () => void): UploadJob {
  return (signal) => {
    onStart(signal);
    return new Promise((_resolve, reject) => {
      signal.addEventListener('abort', () => {
        setTimeout(() => {
          onSettled?.();
          reject(signal.reason);
        }, settleDelayMs);
      });
    });
  };
}

describe('createUploadScheduler', () => {
  const created: UploadScheduler[] = [];
  const make = (options: Partial<SchedulerOptions> = {}): UploadScheduler => {
    const scheduler = createUploadScheduler({ concurrency: 1, retryDelayMs: 10, maxRetryDelayMs: 100, ...options });
    created.push(scheduler);
    return scheduler;
  };

  afterEach(async () => {
    await Promise.all(created.splice(0).map((scheduler) => scheduler.stop()));
  });

  it('runs jobs in due order, equal due times in scheduling order', async () => {
    const scheduler = make();
    const order: string[] = [];
    const job = (id: string): UploadJob => async () => void order.push(id);
    const now = Date.now();
    scheduler.schedule('e', now + 50, job('e'));
    scheduler.schedule('c', now - 10, job('c'));
    scheduler.schedule('a', now - 30, job('a'));
    scheduler.schedule('b', now - 20, job('b'));
    scheduler.schedule('d', now - 30, job('d'));
    expect(order).toEqual([]); // never started inside schedule()
    await scheduler.drain();
    expect(order).toEqual(['a', 'd', 'b', 'c', 'e']);
    expect(scheduler.stats()).toMatchObject({ queued: 0, running: 0, succeeded: 5, failed: 0, cancelled: 0 });
  });

  it('never runs more than `concurrency` jobs at once', async () => {
    const scheduler = make({ concurrency: 3 });
    let current = 0;
    let highest = 0;
    let highestReported = 0;
    let done = 0;
    for (let index = 0; index < 30; index++) {
      scheduler.schedule(`job-${index}`, Date.now(), async () => {
        current++;
        highest = Math.max(highest, current);
        highestReported = Math.max(highestReported, scheduler.stats().running);
        await sleep(1 + (index % 4));
        current--;
        done++;
      });
    }
    await scheduler.drain();
    expect(done).toBe(30);
    expect(highest).toBe(3);
    expect(highestReported).toBe(3);
  });

  it('replaces the job and due time of a queued id', async () => {
    const scheduler = make();
    const ran: string[] = [];
    scheduler.schedule('x', Date.now() + 3_600_000, async () => void ran.push('old'));
    expect(scheduler.has('x')).toBe(true);
    expect(scheduler.stats().queued).toBe(1);
    scheduler.schedule('x', Date.now(), async () => void ran.push('new'));
    expect(scheduler.stats().queued).toBe(1);
    await scheduler.drain();
    expect(ran).toEqual(['new']);
    expect(scheduler.has('x')).toBe(false);
  });

  it('aborts a running id scheduled again, and starts the new job only after the old run settled', async () => {
    const failures: unknown[] = [];
    const scheduler = make({ onFailure: (_id, err) => failures.push(err) });
    let firstSignal: AbortSignal | undefined;
    let firstSettled = false;
    let active = 0;
    let overlapped = false;
    const track = (job: UploadJob): UploadJob => async (signal) => {
      active++;
      if (active > 1) overlapped = true;
      try {
        await job(signal);
      } finally {
        active--;
      }
    };
    scheduler.schedule('x', Date.now(), track(untilAborted((signal) => (firstSignal = signal), 40, () => (firstSettled = true))));
    await waitFor(() => scheduler.isRunning('x'), 'the first run');
    let secondSawFirstSettled: boolean | undefined;
    scheduler.schedule('x', Date.now(), track(async () => void (secondSawFirstSettled = firstSettled)));
    expect(firstSignal?.aborted).toBe(true);
    expect(firstSignal?.reason).toMatchObject({ code: 'ECANCELED' });
    expect(scheduler.stats()).toMatchObject({ queued: 1, running: 1, runningIds: ['x'] });
    await scheduler.drain();
    expect(secondSawFirstSettled).toBe(true);
    expect(overlapped).toBe(false);
    expect(failures).toEqual([]);
    expect(scheduler.stats()).toMatchObject({ succeeded: 1, failed: 0, cancelled: 1, failing: [] });
  });

  it('retries a failed run with a doubling delay up to the cap, then resets on success', async () => {
    // Callback errors are swallowed by the scheduler: record here, assert after.
    const failures: Array<{ id: string; message: string; attempts: number; delay: number; failing: unknown; retryAtMs: number }> = [];
    const successes: string[] = [];
    let scheduler: UploadScheduler | undefined;
    // The clock reading the scheduler computed retryAtMs from: the delay is then exact, whatever the load.
    let lastNow = 0;
    scheduler = make({
      now: () => (lastNow = Date.now()),
      retryDelayMs: 4,
      maxRetryDelayMs: 20,
      onFailure: (id, err, attempts, retryAtMs) => {
        const failing = scheduler!.stats().failing.find((entry) => entry.id === id);
        failures.push({ id, message: (err as Error).message, attempts, delay: retryAtMs - lastNow, failing, retryAtMs });
      },
      onSuccess: (id) => successes.push(id),
    });
    let runs = 0;
    scheduler.schedule('flaky', Date.now(), async () => {
      runs++;
      if (runs <= 6) throw new Error(`boom ${runs}`);
    });
    await scheduler.drain();
    expect(runs).toBe(7);
    expect(successes).toEqual(['flaky']);
    expect(failures.map((failure) => failure.attempts)).toEqual([1, 2, 3, 4, 5, 6]);
    const expected = [4, 8, 16, 20, 20, 20];
    failures.forEach((failure, index) => {
      expect(failure).toMatchObject({ id: 'flaky', message: `boom ${index + 1}` });
      expect(failure.failing).toEqual({ id: 'flaky', attempts: index + 1, lastError: `boom ${index + 1}`, retryAtMs: failure.retryAtMs });
      // +-10% jitter, a whole ms, never above the cap.
      expect(failure.delay).toBeLessThanOrEqual(Math.min(20, Math.ceil(expected[index]! * 1.1)));
      expect(failure.delay).toBeGreaterThanOrEqual(Math.floor(expected[index]! * 0.9));
    });
    expect(scheduler.stats()).toMatchObject({ failed: 6, succeeded: 1, failing: [], queued: 0 });
  });

  it('computes the retry delay: doubling, capped, jittered within 10%', () => {
    expect(retryDelay(1, 100, 1_000, () => 0.5)).toBe(100);
    expect(retryDelay(2, 100, 1_000, () => 0.5)).toBe(200);
    expect(retryDelay(4, 100, 1_000, () => 0.5)).toBe(800);
    expect(retryDelay(5, 100, 1_000, () => 0.5)).toBe(1_000);
    expect(retryDelay(1, 100, 1_000, () => 0)).toBe(90);
    expect(retryDelay(1, 100, 1_000, () => 0.999999)).toBe(110);
    expect(retryDelay(9, 100, 1_000, () => 0.999999)).toBe(1_000);
    expect(retryDelay(9, 100, 1_000, () => 0)).toBe(900);
    expect(retryDelay(5_000, 100, 60_000, () => 0.5)).toBe(60_000);
    expect(retryDelay(5_000, 0, 60_000)).toBe(0);
  });

  it('treats a job that throws synchronously as a failed run', async () => {
    const errors: unknown[] = [];
    const scheduler = make({ retryDelayMs: 3_600_000, maxRetryDelayMs: 3_600_000, onFailure: (_id, err) => errors.push(err) });
    const thrower = (() => {
      throw new Error('sync failure');
    }) as unknown as UploadJob;
    scheduler.schedule('s', Date.now(), thrower);
    await waitFor(() => errors.length === 1, 'the failure');
    expect(errors[0]).toMatchObject({ message: 'sync failure' });
    expect(scheduler.has('s')).toBe(true);
    expect(scheduler.stats()).toMatchObject({ failed: 1, queued: 1, running: 0 });
    await scheduler.remove('s');
    expect(scheduler.has('s')).toBe(false);
    await scheduler.drain();
  });

  it('remove() forgets a queued job, and aborts and awaits a running one', async () => {
    const failures: unknown[] = [];
    const scheduler = make({ concurrency: 2, onFailure: (_id, err) => failures.push(err) });
    let queuedRan = false;
    scheduler.schedule('later', Date.now() + 3_600_000, async () => void (queuedRan = true));
    let signal: AbortSignal | undefined;
    let settled = false;
    scheduler.schedule('busy', Date.now(), untilAborted((s) => (signal = s), 30, () => (settled = true)));
    await waitFor(() => scheduler.isRunning('busy'), 'the busy run');

    await scheduler.remove('later');
    expect(scheduler.has('later')).toBe(false);
    await scheduler.remove('busy');
    expect(signal?.aborted).toBe(true);
    expect(settled).toBe(true);
    expect(scheduler.isRunning('busy')).toBe(false);
    expect(scheduler.has('busy')).toBe(false);
    await scheduler.remove('never-scheduled');
    await scheduler.drain();
    expect(queuedRan).toBe(false);
    expect(failures).toEqual([]);
    expect(scheduler.stats()).toMatchObject({ cancelled: 1, failed: 0, succeeded: 0, queued: 0, running: 0 });
  });

  it('expedite() makes every queued job due now, failing ones too, keeping their order', async () => {
    const order: string[] = [];
    const scheduler = make({ retryDelayMs: 3_600_000, maxRetryDelayMs: 3_600_000 });
    let failedOnce = false;
    scheduler.schedule('retry', Date.now(), async () => {
      order.push('retry');
      if (!failedOnce) {
        failedOnce = true;
        throw new Error('first try fails');
      }
    });
    await waitFor(() => scheduler.stats().failing.length === 1, 'the first failure');
    // The retry is due within the capped hour (jitter included); these two later.
    const later = Date.now() + 2 * 3_600_000;
    scheduler.schedule('b', later + 2, async () => void order.push('b'));
    scheduler.schedule('a', later + 1, async () => void order.push('a'));
    await sleep(50);
    expect(order).toEqual(['retry']);
    scheduler.expedite();
    await scheduler.drain();
    // The failed job's retry was due first (within the hour), then 'a' and 'b'.
    expect(order).toEqual(['retry', 'retry', 'a', 'b']);
    expect(scheduler.stats()).toMatchObject({ failing: [], succeeded: 3, failed: 1 });
  });

  it('drain() reports progress and also waits for jobs scheduled while draining', async () => {
    const scheduler = make();
    const ran: string[] = [];
    await scheduler.drain(); // nothing queued: resolves at once
    for (const id of ['a', 'b', 'c']) {
      scheduler.schedule(id, Date.now(), async () => {
        await sleep(25);
        ran.push(id);
        if (id === 'c') scheduler.schedule('late', Date.now() + 30, async () => void ran.push('late'));
      });
    }
    const progress: Array<{ queued: number; running: number }> = [];
    await scheduler.drain((stats) => progress.push({ queued: stats.queued, running: stats.running }), 5);
    expect(ran).toEqual(['a', 'b', 'c', 'late']);
    expect(progress.length).toBeGreaterThan(0);
    expect(progress.some((stats) => stats.running === 1)).toBe(true);
    const calls = progress.length;
    await sleep(30);
    expect(progress.length).toBe(calls); // the progress timer stopped with the drain
    await expect(scheduler.drain(undefined, 0)).rejects.toMatchObject({ code: 'EINVAL' });
  });

  it('stop() aborts and awaits running jobs, drops queued ones, and releases drain()', async () => {
    const scheduler = make({ concurrency: 2 });
    const signals: AbortSignal[] = [];
    let settled = 0;
    for (const id of ['r1', 'r2']) {
      scheduler.schedule(id, Date.now(), untilAborted((signal) => signals.push(signal), 20, () => settled++));
    }
    let queuedRan = false;
    scheduler.schedule('q', Date.now(), async () => void (queuedRan = true));
    await waitFor(() => scheduler.stats().running === 2, 'two runs');
    let drained = false;
    const draining = scheduler.drain().then(() => (drained = true));
    await scheduler.stop();
    expect(signals.map((signal) => signal.aborted)).toEqual([true, true]);
    expect(settled).toBe(2);
    await draining;
    expect(drained).toBe(true);
    expect(queuedRan).toBe(false);
    expect(scheduler.stats()).toMatchObject({ queued: 0, running: 0, cancelled: 2, failed: 0 });
    // Stopped: nothing new starts, and drain() does not wait.
    scheduler.schedule('after', Date.now(), async () => void (queuedRan = true));
    expect(scheduler.has('after')).toBe(false);
    await scheduler.drain();
    await sleep(20);
    expect(queuedRan).toBe(false);
    await scheduler.stop();
  });

  it('rejects invalid options and arguments with EINVAL', () => {
    expect(() => createUploadScheduler({ concurrency: 0, retryDelayMs: 1, maxRetryDelayMs: 1 })).toThrow(
      expect.objectContaining({ code: 'EINVAL' }),
    );
    expect(() => createUploadScheduler({ concurrency: 1, retryDelayMs: -1, maxRetryDelayMs: 1 })).toThrow(
      expect.objectContaining({ code: 'EINVAL' }),
    );
    const scheduler = make();
    expect(() => scheduler.schedule('x', Number.NaN, async () => undefined)).toThrow(expect.objectContaining({ code: 'EINVAL' }));
    expect(scheduler.has('x')).toBe(false);
  });

  it('handles 10,000 ids (each scheduled twice) quickly, each run once, in due order', async () => {
    const scheduler = make({ concurrency: 8 });
    const count = 10_000;
    const runs = new Map<string, number>();
    const startedDue: number[] = [];
    const base = Date.now() + 20;
    const dueOf = (index: number): number => base + ((index * 7919) % 40);
    const started = performance.now();
    for (let index = 0; index < count; index++) {
      scheduler.schedule(`id-${index}`, base + 3_600_000, async () => void runs.set(`stale-${index}`, 1));
    }
    for (let index = 0; index < count; index++) {
      const id = `id-${index}`;
      const due = dueOf(index);
      scheduler.schedule(id, due, async () => {
        startedDue.push(due);
        runs.set(id, (runs.get(id) ?? 0) + 1);
      });
    }
    // O(n log n): well under a second even on a loaded box; O(n^2) would take far longer.
    expect(performance.now() - started).toBeLessThan(5_000);
    expect(scheduler.stats().queued).toBe(count);
    await scheduler.drain();
    expect(runs.size).toBe(count);
    expect([...runs.values()].every((value) => value === 1)).toBe(true);
    expect(startedDue.every((due, index) => index === 0 || startedDue[index - 1]! <= due)).toBe(true);
    expect(scheduler.stats().succeeded).toBe(count);
  });
});
