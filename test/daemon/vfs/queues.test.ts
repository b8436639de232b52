import { describe, expect, it } from 'vitest';
import { Gate, KeyedQueue, mapLimit } from '../../../src/daemon/vfs/queues.js';
import { MutationTracker } from '../../../src/daemon/vfs/tracker.js';

const tick = (ms = 5) => new Promise((r) => setTimeout(r, ms));

describe('vfs coordination helpers', () => {
  it('KeyedQueue runs tasks of one key in order, other keys in parallel, and survives failures', async () => {
    const queue = new KeyedQueue<number>();
    const log: string[] = [];
    const task = (name: string, ms: number, fail = false) => async () => {
      log.push(`start ${name}`);
      await tick(ms);
      log.push(`end ${name}`);
      if (fail) throw new Error(name);
      return name;
    };
    const a1 = queue.run(1, task('a1', 20, true));
    const a2 = queue.run(1, task('a2', 1));
    const b1 = queue.run(2, task('b1', 1));
    await expect(a1).rejects.toThrow('a1');
    expect(await a2).toBe('a2');
    expect(await b1).toBe('b1');
    expect(log.indexOf('end a1')).toBeLessThan(log.indexOf('start a2'));
    expect(log.indexOf('end b1')).toBeLessThan(log.indexOf('end a1'));
    await queue.drain();
  });

  it('Gate: shared holders together, an exclusive one alone, and a waiting exclusive is not starved', async () => {
    const gate = new Gate();
    let shared = 0;
    let maxShared = 0;
    let exclusiveWhileShared = false;
    const reader = () =>
      gate.withShared(async () => {
        shared++;
        maxShared = Math.max(maxShared, shared);
        await tick(10);
        shared--;
      });
    const first = [reader(), reader()];
    const writer = gate.withExclusive(async () => {
      exclusiveWhileShared = shared > 0;
      await tick(5);
      return 'done';
    });
    const late = reader(); // queued behind the writer
    expect(await writer).toBe('done');
    await Promise.all([...first, late]);
    expect(maxShared).toBe(2);
    expect(exclusiveWhileShared).toBe(false);
  });

  it('mapLimit keeps order and the concurrency bound', async () => {
    let running = 0;
    let peak = 0;
    const out = await mapLimit([5, 1, 4, 2, 3, 0], 2, async (n) => {
      running++;
      peak = Math.max(peak, running);
      await tick(n);
      running--;
      return n * 10;
    });
    expect(out).toEqual([50, 10, 40, 20, 30, 0]);
    expect(peak).toBe(2);
  });

  it('MutationTracker: a listing is usable only when nothing touched the directory or an ancestor subtree', () => {
    const tracker = new MutationTracker();
    const since = tracker.mark();
    expect(tracker.quiet('a/b', since)).toBe(true);
    tracker.begin(['a/b']);
    expect(tracker.quiet('a/b', since)).toBe(false);
    tracker.end(['a/b']);
    expect(tracker.quiet('a/b', since)).toBe(false); // changed after the mark
    expect(tracker.quiet('a/b', tracker.mark())).toBe(true);
    expect(tracker.quiet('a', since)).toBe(true);
    const later = tracker.mark();
    tracker.begin([], ['a']);
    expect(tracker.quiet('a/b/c', later)).toBe(false);
    expect(tracker.quiet('x', later)).toBe(true);
    tracker.end([], ['a']);
    const after = tracker.mark();
    expect(tracker.quiet('a/b/c', after)).toBe(true);
  });
});
