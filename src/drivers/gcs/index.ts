import type { GcsDiskConfig } from '../../core/config/schema.js';
import type { DriverContext } from '../context.js';
import { ObjectStoreDriver } from '../object-store/driver.js';
import type { StorageDriver } from '../types.js';
import { GcsAdapter } from './adapter.js';
import { createGcsClient, looksLikeEmulator } from './client.js';

/** Default per-request timeout when the disk config names none, in seconds. */
const DEFAULT_TIMEOUT_SECONDS = 15;
const PUBLIC_ORIGIN = 'https://storage.googleapis.com';

/** Settings that win over the disk config's `emulator` and `acl` keys (tests use them). */
export interface GcsDriverOverrides {
  /**
   * The endpoint is the firebase-tools storage emulator (bare-host JSON API
   * paths, no OAuth, no ACLs, no signed PUT, no expiry checks).
   * Default: true when `endpoint` uses plain http.
   */
  emulator?: boolean;
  /**
   * Per-object ACL visibility. Default: on, except in emulator mode (its ACL
   * routes accept and ignore). Turn off for buckets with uniform
   * bucket-level access, where object ACL calls fail.
   */
  visibility?: boolean;
}

/**
 * Creates the gcs driver for one disk: a GcsAdapter (@google-cloud/storage)
 * under the shared ObjectStoreDriver. `endpoint` becomes the SDK's
 * apiEndpoint, `key_file` its keyFilename (else application default
 * credentials), `timeout` the per-request timeout; `prefix`, `url` and
 * `visibility` are handled by ObjectStoreDriver. Creating the driver does no
 * I/O; a bad bucket or endpoint shows on the first call.
 */
export function createGcsDriver(config: GcsDiskConfig, context: DriverContext, overrides: GcsDriverOverrides = {}): StorageDriver {
  void context; // messages name the bucket and key; the disk name adds nothing the caller lacks
  const emulator = overrides.emulator ?? config.emulator ?? looksLikeEmulator(config.endpoint);
  const storage = createGcsClient({
    ...(config.endpoint !== undefined ? { endpoint: config.endpoint } : {}),
    ...(config.key_file !== undefined ? { keyFile: config.key_file } : {}),
    ...(config.project_id !== undefined ? { projectId: config.project_id } : {}),
    timeoutMs: (config.timeout ?? DEFAULT_TIMEOUT_SECONDS) * 1000,
    emulator,
  });
  const adapter = new GcsAdapter({
    storage,
    bucket: config.bucket,
    emulator,
    visibility: overrides.visibility ?? config.acl ?? !emulator,
    publicOrigin: config.endpoint?.replace(/\/+$/, '') ?? PUBLIC_ORIGIN,
  });
  return new ObjectStoreDriver(adapter, {
    // A prefix is a key prefix, not a path: '/tenants/a/' and 'tenants/a' are the same.
    ...(config.prefix !== undefined ? { prefix: config.prefix.replace(/^\/+|\/+$/g, '') } : {}),
    ...(config.url !== undefined ? { url: config.url } : {}),
    ...(config.visibility !== undefined ? { defaultVisibility: config.visibility } : {}),
  });
}
