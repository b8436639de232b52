import type { FtpDiskConfig } from '../../core/config/schema.js';
import type { DriverContext } from '../context.js';
import type { StorageDriver } from '../types.js';
import { FtpDriver } from './driver.js';

export { FtpDriver } from './driver.js';
export { FtpPool } from './pool.js';
export { accessOptions } from './connect.js';

/** Creates the ftp driver for one disk (no I/O: connections open on first use). */
export function createFtpDriver(config: FtpDiskConfig, context: DriverContext): StorageDriver {
  return new FtpDriver(config, context);
}
