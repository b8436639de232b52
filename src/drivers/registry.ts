import type { DiskConfig, DriverName } from '../core/config/schema.js';
import type { DriverContext } from './context.js';
import type { StorageDriver } from './types.js';

type Factory<C> = (config: C, context: DriverContext) => StorageDriver;
type FactoryLoaders = { [N in DriverName]: () => Promise<Factory<Extract<DiskConfig, { driver: N }>>> };

/**
 * The explicit driver map: config's `driver` key to a loader of its factory.
 * Loaders import the driver module on first use, so a command that touches
 * only a local disk never loads the AWS, Google or Azure SDKs.
 */
export const DRIVER_FACTORIES: FactoryLoaders = {
  local: async () => (await import('./local/index.js')).createLocalDriver,
  s3: async () => (await import('./s3/index.js')).createS3Driver,
  gcs: async () => (await import('./gcs/index.js')).createGcsDriver,
  azure: async () => (await import('./azure/index.js')).createAzureDriver,
  ftp: async () => (await import('./ftp/index.js')).createFtpDriver,
  memory: async () => (await import('./memory/index.js')).createMemoryDriver,
};

/**
 * Builds the driver for a validated disk config. Construction does no
 * network I/O; a missing credential or a bad option rejects with FsError
 * EINVAL naming the disk.
 */
export async function createDriver(config: DiskConfig, context: DriverContext): Promise<StorageDriver> {
  const factory = (await DRIVER_FACTORIES[config.driver]()) as Factory<DiskConfig>;
  return factory(config, context);
}
