import type { LocalDiskConfig } from '../../core/config/schema.js';
import type { DriverContext } from '../context.js';
import type { StorageDriver } from '../types.js';
import { LocalDriver } from './driver.js';

export { LocalDriver, LOCAL_KEY_LIMITS } from './driver.js';

/**
 * Creates the local driver for one disk. `config.root` must be absolute (the
 * config loader resolves it); construction does no I/O, the root folder is
 * created on the first write.
 */
export function createLocalDriver(config: LocalDiskConfig, context: DriverContext): StorageDriver {
  return new LocalDriver(config, context);
}
