import { describe, expect, it } from 'vitest';
import { Mutex, ReadWriteLock } from '../../../src/daemon/content/lock.js';

const tick = (ms = 5): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('content locks', () => {
  it('a mutex runs tasks one at a time in call order, and a failure does not block the next', async () => {
    const mutex = new Mutex();
    const log: string[] = [];
    const task = (name: string, fail = false) =>
      mutex.run(async () => {
        log.push(`${name}+`);
        await tick();
        log.push(`${name}-`);
        if (fail) throw new Error(name);
        return name;
      });
    const results = await Promise.allSettled([task('a'), task('b', true), task('c')]);
    expect(log).toEqual(['a+', 'a-', 'b+', 'b-', 'c+', 'c-']);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
  });

  it('shared holders overlap; an exclusive one waits for them and blocks later shared ones', async () => {
    const lock = new ReadWriteLock();
    const log: string[] = [];
    const hold = (name: string, exclusive: boolean, ms: number) =>
      (exclusive ? lock.exclusive.bind(lock) : lock.shared.bind(lock))(async () => {
        log.push(`${name}+`);
        await tick(ms);
        log.push(`${name}-`);
      });
    await Promise.all([hold('r1', false, 20), hold('r2', false, 5), hold('w', true, 5), hold('r3', false, 5)]);
    expect(log).toEqual(['r1+', 'r2+', 'r2-', 'r1-', 'w+', 'w-', 'r3+', 'r3-']);
  });
});
