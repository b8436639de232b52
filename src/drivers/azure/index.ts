import type { AzureDiskConfig } from '../../core/config/schema.js';
import type { DriverContext } from '../context.js';
import { ObjectStoreDriver } from '../object-store/driver.js';
import type { StorageDriver } from '../types.js';
import { AzureAdapter } from './adapter.js';
import { connectAzure, DEFAULT_TIMEOUT_SECONDS } from './client.js';

export { AzureAdapter } from './adapter.js';

/**
 * Creates the azure driver for one disk: blobs in `config.container`, under
 * `config.prefix`, written with `config.tier` when set. No I/O happens here;
 * missing or mixed credentials throw FsError EINVAL naming the disk and the
 * keys expected (see connectAzure). The container must already exist.
 */
export function createAzureDriver(config: AzureDiskConfig, context: DriverContext): StorageDriver {
  const connection = connectAzure(config, context.diskName);
  const adapter = new AzureAdapter(connection.container, {
    timeoutMs: (config.timeout ?? DEFAULT_TIMEOUT_SECONDS) * 1000,
    canSign: connection.sharedKey !== undefined,
    ...(config.tier !== undefined ? { tier: config.tier } : {}),
  });
  return new ObjectStoreDriver(adapter, {
    ...(config.prefix !== undefined ? { prefix: config.prefix } : {}),
    ...(config.url !== undefined ? { url: config.url } : {}),
    ...(config.visibility !== undefined ? { defaultVisibility: config.visibility } : {}),
  });
}
