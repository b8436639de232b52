import type { S3DiskConfig } from '../../core/config/schema.js';
import type { DriverContext } from '../context.js';
import { ObjectStoreDriver } from '../object-store/driver.js';
import type { DriverCapabilities, StorageDriver } from '../types.js';
import { S3Adapter } from './adapter.js';
import { createS3Client } from './client.js';
import { resolveS3Settings } from './settings.js';

/**
 * Differences of one S3-compatible server from AWS that the config schema
 * does not (yet) express. Tests use them to describe s3rver honestly.
 */
export interface S3DriverOverrides {
  /**
   * Use object ACLs for visibility (default true). Set false for buckets whose
   * Object Ownership is "bucket owner enforced" (the AWS default since 2023:
   * any ACL but private is refused) and for servers that ignore ACLs (s3rver,
   * MinIO, R2); visibility is then not a capability and no ACL is sent.
   */
  acl?: boolean;
  /** Capability overrides, e.g. shorter name limits of a file-backed server. */
  capabilities?: Partial<DriverCapabilities>;
  /**
   * The server's CopyObject with MetadataDirective REPLACE onto an existing
   * key keeps that key's old MD5 as the copy's ETag (s3rver): true makes such
   * copies (copy with new metadata onto an existing file) stream the bytes
   * through instead, so checksum and etag stay true. Default false.
   */
  replaceCopyKeepsOldEtag?: boolean;
}

/**
 * Creates the s3 driver for one disk: AWS S3 or any S3-compatible service
 * (MinIO, DigitalOcean Spaces, R2, s3rver) through `endpoint` and
 * `path_style`. Construction does no I/O and never creates the bucket.
 * Throws FsError EINVAL naming the disk for a bad option (see
 * resolveS3Settings). A missing bucket surfaces on first use as ENOENT.
 */
export function createS3Driver(config: S3DiskConfig, context: DriverContext, overrides: S3DriverOverrides = {}): StorageDriver {
  const settings = resolveS3Settings(config, context.diskName);
  const adapter = new S3Adapter(createS3Client(settings), {
    settings,
    acl: overrides.acl ?? config.acl ?? true,
    ...(overrides.capabilities !== undefined ? { capabilities: overrides.capabilities } : {}),
    ...(overrides.replaceCopyKeepsOldEtag !== undefined ? { replaceCopyKeepsOldEtag: overrides.replaceCopyKeepsOldEtag } : {}),
  });
  return new ObjectStoreDriver(adapter, {
    prefix: settings.prefix,
    ...(config.url !== undefined ? { url: config.url } : {}),
    ...(config.visibility !== undefined ? { defaultVisibility: config.visibility } : {}),
  });
}
