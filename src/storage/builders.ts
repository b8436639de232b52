import type { CustomDiskConfig } from '../core/config/loader.js';
import { DRIVER_NAMES, type DiskConfig } from '../core/config/schema.js';
import { createDriver } from '../drivers/registry.js';
import type { StorageDriver } from '../drivers/types.js';
import { decoratorBuilders } from './decorators/config-builders.js';

/** A disk's config as the manager holds it: validated for built-in drivers, as written for others. */
export type AnyDiskConfig = DiskConfig | CustomDiskConfig;

/** What a DiskBuilder gets besides the disk's config. */
export interface DiskBuildContext {
  /** The disk's name, for messages. */
  diskName: string;
  /** HMAC secret for signed URLs (disks with a `url` whose backend cannot presign). */
  signingKey?: string;
  /** Folder relative paths of this config resolve against. */
  baseDir: string;
  /** What config errors call the disk's origin (the config file, `configureDisk('name')`); default: `disk '<name>'`. */
  source?: string;
  /** The configuration's cache.dir (a cached disk's folder store defaults to <cacheDir>/decorator-<disk>); default: <baseDir>/storage/cache. */
  cacheDir?: string;
  /**
   * Builds a new driver for another configured disk (by name), e.g. the inner
   * disk of a decorator (`disk: s3`). The caller owns it and must close it (a
   * decorator closes its inner driver in its own close()). A disk that wraps
   * itself, directly or through others, is EINVAL.
   */
  buildDriver(name: string): Promise<StorageDriver>;
}

/**
 * Builds the driver of a disk whose config names this builder's driver.
 * Built-in drivers are registered under their names (local, s3, gcs, azure,
 * ftp, memory), and so are the decorators (encrypted, cached, scoped,
 * read-only, cdn); StorageManager.extend adds more. A builder for a
 * driver outside the built-in schemas receives the config as written (after
 * `${VAR}` substitution) and validates it itself, throwing FsError EINVAL; a
 * builder replacing a built-in driver receives the schema-validated config.
 */
export type DiskBuilder = (config: CustomDiskConfig, context: DiskBuildContext) => StorageDriver | Promise<StorageDriver>;

/**
 * The built-in builders: each driver of the registry, from its validated
 * config, and the decorators (scoped, read-only, encrypted, cached, cdn:
 * see decorators/config.ts for their config keys), which the loader passes
 * through as custom disks and their builder validates.
 */
export function builtInBuilders(): Map<string, DiskBuilder> {
  const builders = new Map<string, DiskBuilder>();
  for (const name of DRIVER_NAMES) {
    builders.set(name, (config, context) =>
      // Disks of built-in drivers are validated by the loader's schema before a builder sees them.
      createDriver(config as unknown as DiskConfig, { diskName: context.diskName, ...(context.signingKey !== undefined ? { signingKey: context.signingKey } : {}) }),
    );
  }
  for (const [name, builder] of decoratorBuilders()) builders.set(name, builder);
  return builders;
}

/** True when `driver` is one of the built-in drivers (config validated by the loader's schemas). */
export function isBuiltInDriver(driver: string): driver is DiskConfig['driver'] {
  return (DRIVER_NAMES as readonly string[]).includes(driver);
}
