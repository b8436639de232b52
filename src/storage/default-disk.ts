import type { Disk } from './disk.js';

/** Disk methods that answer a promise; the manager forwards them to its default disk. */
export const DEFAULT_DISK_ASYNC_METHODS = [
  'put',
  'writeStream',
  'append',
  'prepend',
  'delete',
  'copy',
  'move',
  'makeDirectory',
  'deleteDirectory',
  'setVisibility',
  'get',
  'getText',
  'readStream',
  'exists',
  'missing',
  'fileExists',
  'directoryExists',
  'size',
  'lastModified',
  'mimeType',
  'checksum',
  'metadata',
  'getVisibility',
  'url',
  'temporaryUrl',
  'temporaryUploadUrl',
  'assertExists',
  'assertMissing',
  'assertCount',
  'assertDirectoryEmpty',
] as const satisfies readonly (keyof Disk)[];

/** Disk methods that answer a Listing; the manager forwards them to its default disk. */
export const DEFAULT_DISK_LISTING_METHODS = ['files', 'allFiles', 'directories', 'allDirectories', 'list'] as const satisfies readonly (keyof Disk)[];

/**
 * The Disk methods a StorageManager offers itself, each running on the
 * default disk: `Storage.put(...)` is `Storage.disk().put(...)`. (on/once/off
 * and close are the manager's own: they cover every disk.)
 */
export type DefaultDiskMethods = Pick<Disk, (typeof DEFAULT_DISK_ASYNC_METHODS)[number] | (typeof DEFAULT_DISK_LISTING_METHODS)[number]>;

/**
 * Adds the DefaultDiskMethods to `prototype`, each calling `disk()` (the
 * default disk) when invoked. A failure to find the default disk (a config
 * error) rejects the promise of an async method, and throws from a listing method.
 */
export function installDefaultDiskMethods(prototype: object, disk: (self: object) => Disk): void {
  for (const name of DEFAULT_DISK_ASYNC_METHODS) {
    Object.defineProperty(prototype, name, {
      configurable: true,
      writable: true,
      value: function (this: object, ...args: unknown[]): Promise<unknown> {
        try {
          const target = disk(this);
          return (target[name] as (...a: unknown[]) => Promise<unknown>).apply(target, args);
        } catch (err) {
          return Promise.reject(err);
        }
      },
    });
  }
  for (const name of DEFAULT_DISK_LISTING_METHODS) {
    Object.defineProperty(prototype, name, {
      configurable: true,
      writable: true,
      value: function (this: object, ...args: unknown[]): unknown {
        const target = disk(this);
        return (target[name] as (...a: unknown[]) => unknown).apply(target, args);
      },
    });
  }
}
