import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { StorageDriver } from '../../../src/drivers/types.js';
import {
  createCachedDriver,
  createFolderCacheStore,
  createMemoryCacheStore,
  createRedisCacheStore,
} from '../../../src/storage/decorators/cached/index.js';
import { startRedis, type RedisServer } from '../../support/servers/redis.js';
import { stackedFixture, type StackedFixture } from './decorator-fixtures.js';

/** The TTL of the conformance fixtures: long enough that only invalidation can explain a fresh answer. */
export const CONFORMANCE_TTL_MS = 60_000;

/** cached(memory) with a memory store per driver. */
export function cachedOnMemory(): StackedFixture {
  return stackedFixture('memory', 'cached (memory store)', (inner) =>
    createCachedDriver(inner, { store: createMemoryCacheStore({ maxBytes: 64 * 2 ** 20 }), ttlMs: CONFORMANCE_TTL_MS }),
  );
}

/** cached(local) with a folder store per driver, in folders removed when the fixture stops. */
export function cachedOnLocal(): StackedFixture {
  const folders: string[] = [];
  const fixture = stackedFixture('local', 'cached (folder store)', (inner) => {
    const dir = join(tmpdir(), `storaged-cached-folder-${process.pid}-${randomBytes(4).toString('hex')}`);
    folders.push(dir);
    return createCachedDriver(inner, { store: createFolderCacheStore({ dir, maxBytes: 64 * 2 ** 20 }), ttlMs: CONFORMANCE_TTL_MS });
  });
  return {
    ...fixture,
    async stop() {
      try {
        await fixture.stop();
      } finally {
        await Promise.all(folders.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
      }
    },
  };
}

/** cached(s3 on s3rver) with a redis store per driver (its own key prefix) on one real redis-server. */
export function cachedOnS3(): StackedFixture {
  let redis: RedisServer | undefined;
  const fixture = stackedFixture('s3', 'cached (redis store)', (inner) => {
    if (!redis) throw new Error('redis-server not started');
    const keyPrefix = `conformance:${randomBytes(6).toString('hex')}:`;
    return createCachedDriver(inner, { store: createRedisCacheStore({ url: redis.url, keyPrefix }), ttlMs: CONFORMANCE_TTL_MS });
  });
  return {
    ...fixture,
    async start() {
      redis = await startRedis();
      await fixture.start();
    },
    async stop() {
      try {
        await fixture.stop();
      } finally {
        await redis?.stop();
        redis = undefined;
      }
    },
  };
}

/** Calls made to a driver, by method name. */
export type CallCounts = Record<string, number>;

/**
 * `inner` seen through a proxy that counts every method call by name (the
 * driver itself is untouched), so a test can prove an answer came from the
 * cache: the inner driver was not asked.
 */
export function countingDriver(inner: StorageDriver): { driver: StorageDriver; calls: CallCounts } {
  const calls: CallCounts = {};
  const driver = new Proxy(inner, {
    get(target, property, receiver) {
      const value: unknown = Reflect.get(target, property, receiver);
      if (typeof value !== 'function' || typeof property !== 'string') return value;
      return (...args: unknown[]) => {
        calls[property] = (calls[property] ?? 0) + 1;
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { driver, calls };
}

/** The total of the counted calls to the given methods (all methods when none is named). */
export function callsTo(calls: CallCounts, ...methods: string[]): number {
  const names = methods.length > 0 ? methods : Object.keys(calls);
  return names.reduce((sum, name) => sum + (calls[name] ?? 0), 0);
}
