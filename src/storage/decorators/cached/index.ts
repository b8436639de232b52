export { CachedDriver, createCachedDriver, type CachedOptions } from './driver.js';
export type { CacheCounters } from './guarded-store.js';
export type { CacheStore } from './store.js';
export { createMemoryCacheStore, MemoryCacheStore, type MemoryCacheStoreOptions } from './memory-store.js';
export { createFolderCacheStore, FolderCacheStore, type FolderCacheStoreOptions } from './folder-store.js';
export { createRedisCacheStore, RedisCacheStore, type RedisCacheStoreOptions } from './redis-store.js';
