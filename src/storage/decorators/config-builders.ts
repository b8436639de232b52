import { resolve } from 'node:path';
import { ConfigError, ConfigErrors } from '../../core/config/errors.js';
import { isFsError, type FsError } from '../../core/errors.js';
import { createLogger, type Logger } from '../../core/logger.js';
import type { StorageDriver } from '../../drivers/types.js';
import type { DiskBuildContext, DiskBuilder } from '../builders.js';
import { DECORATOR_DRIVERS, parseDecoratorDisk, type CacheStoreConfig, type DecoratorDiskConfig } from './config.js';

/** cache.dir's default (rootSchema), relative to the config's folder: where a folder store goes when the context has no cacheDir. */
const DEFAULT_CACHE_DIR = 'storage/cache';

/**
 * The builders of the decorator disks (scoped, read-only, encrypted, cached,
 * cdn), one per driver name, for StorageManager's builder map. Each validates
 * the disk's config (parseDecoratorDisk: ConfigErrors naming
 * `disks.<name>.<key>`) before anything is built, then builds the wrapped disk
 * through context.buildDriver (an unknown or self-wrapping inner disk is a
 * ConfigError at `disks.<name>.disk`) and wraps it. The decorator owns the
 * inner driver; if wrapping fails, the inner driver is closed. A decorator's
 * code (and the Redis client) loads with the first disk that uses it.
 */
export function decoratorBuilders(): Map<string, DiskBuilder> {
  return new Map<string, DiskBuilder>(DECORATOR_DRIVERS.map((driver) => [driver, buildDecoratorDisk]));
}

/** The DiskBuilder of every decorator (see decoratorBuilders). */
async function buildDecoratorDisk(config: Record<string, unknown>, context: DiskBuildContext): Promise<StorageDriver> {
  const source = context.source ?? `disk '${context.diskName}'`;
  const cacheDir = context.cacheDir ?? resolve(context.baseDir, DEFAULT_CACHE_DIR);
  const parsed = parseDecoratorDisk(context.diskName, config, { source, baseDir: context.baseDir, cacheDir });
  const wrap = await loadWrapper(parsed, context.diskName);
  const inner = await innerDriver(parsed.disk, context, source);
  try {
    return await wrap(inner);
  } catch (err) {
    await inner.close().catch(() => undefined);
    throw err;
  }
}

/** Builds the wrapped disk; the manager's "which disk" errors (unknown name, a loop) become ConfigErrors at `disks.<name>.disk`. */
async function innerDriver(name: string, context: DiskBuildContext, source: string): Promise<StorageDriver> {
  try {
    return await context.buildDriver(name);
  } catch (err) {
    if (isFsError(err) && err.code === 'EINVAL' && err.op === 'disk' && !(err instanceof ConfigError)) {
      throw new ConfigErrors([new ConfigError(source, `disks.${context.diskName}.disk`, err.message)]);
    }
    throw err;
  }
}

/** Loads the decorator's module and answers the function that wraps an inner driver with it. */
async function loadWrapper(disk: DecoratorDiskConfig, diskName: string): Promise<(inner: StorageDriver) => StorageDriver | Promise<StorageDriver>> {
  switch (disk.driver) {
    case 'scoped': {
      const { createScopedDriver } = await import('./scoped.js');
      return (inner) => createScopedDriver(inner, { prefix: disk.prefix });
    }
    case 'read-only': {
      const { createReadOnlyDriver } = await import('./read-only.js');
      return (inner) => createReadOnlyDriver(inner);
    }
    case 'encrypted': {
      const { createEncryptedDriver } = await import('./encrypted/index.js');
      const chunk = disk.chunkSize !== undefined ? { chunkSize: disk.chunkSize } : {};
      return (inner) => createEncryptedDriver(inner, { keys: disk.keys, keyId: disk.keyId, ...chunk });
    }
    case 'cached': {
      const cached = await import('./cached/index.js');
      const content = disk.maxContentBytes !== undefined ? { maxContentBytes: disk.maxContentBytes } : {};
      return (inner) => cached.createCachedDriver(inner, { store: createStore(cached, disk.store), ttlMs: disk.ttlMs, ...content });
    }
    case 'cdn': {
      const { createCdnDriver } = await import('./cdn/index.js');
      const invalidate = disk.invalidate !== undefined ? { invalidate: disk.invalidate } : {};
      return (inner) => createCdnDriver(inner, { baseUrl: disk.baseUrl, ...invalidate, onInvalidationError: logInvalidationError(diskName) });
    }
  }
}

function createStore(cached: typeof import('./cached/index.js'), store: CacheStoreConfig) {
  switch (store.kind) {
    case 'memory':
      return cached.createMemoryCacheStore({ maxBytes: store.maxBytes });
    case 'folder':
      return cached.createFolderCacheStore({ dir: store.dir, maxBytes: store.maxBytes });
    case 'redis':
      return cached.createRedisCacheStore({ url: store.url, keyPrefix: store.keyPrefix });
  }
}

let invalidationLogger: Logger | undefined;

/** A failed CDN invalidation of a configured disk: a warning in the process log (the write itself succeeded). */
function logInvalidationError(diskName: string): (error: FsError, paths: string[]) => void {
  return (error, paths) => {
    invalidationLogger ??= createLogger('storaged');
    invalidationLogger.warn({ disk: diskName, code: error.code, paths }, `cdn invalidation failed: ${error.message}`);
  };
}
