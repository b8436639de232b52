/**
 * storaged as a library: the Storage facade (disks, fakes, events), the
 * driver contract, the drivers and their registry, and the core helpers
 * (errors, paths, config, signed URLs).
 */
export * from './storage/index.js';
export * from './core/index.js';
export { createLogger, type Logger } from './core/logger.js';
export type * from './drivers/types.js';
export type { DriverContext } from './drivers/context.js';
export { createDriver, DRIVER_FACTORIES } from './drivers/registry.js';
export { ObjectStoreDriver, type ObjectStoreOptions } from './drivers/object-store/driver.js';
export type * from './drivers/object-store/adapter.js';
