import type { MemoryDiskConfig } from '../../core/config/schema.js';
import type { DriverContext } from '../context.js';
import { MemoryDriver } from './driver.js';

export { MemoryDriver, type MemoryDriverOptions } from './driver.js';
export { FailureInjector, type FailureRule, type InjectedFailure, type MemoryOperation } from './failures.js';
export { MemoryTree } from './tree.js';

/**
 * Creates the memory driver for one disk from its validated config: data
 * lives in this process and is gone when it exits. `url` enables url(); with
 * the context's signing key it also enables HMAC-signed temporary URLs.
 */
export function createMemoryDriver(config: MemoryDiskConfig, context: DriverContext): MemoryDriver {
  return new MemoryDriver({
    url: config.url,
    visibility: config.visibility,
    latencyMs: config.latency_ms,
    signingKey: context.signingKey,
    diskName: context.diskName,
  });
}
