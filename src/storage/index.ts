/**
 * The library face: `Storage` (the default StorageManager), Disk, fakes for
 * tests and storage events. `import { Storage } from 'storaged'`.
 */
export { Storage, StorageManager, type StorageManagerOptions, type BuildOptions } from './manager.js';
export { Disk, type DiskOptions, type DiskPutOptions } from './disk.js';
export { DiskReader, type DiskMetadata } from './disk-reader.js';
export type { PutContents, BodyChunk } from './disk-body.js';
export { Listing, DEFAULT_LIST_PAGE_SIZE } from './disk-listing.js';
export { DEFAULT_MAX_REWRITE_BYTES, type RewriteOptions } from './disk-rewrite.js';
export { LazyDriver, type DriverSource } from './driver-source.js';
export type { AnyDiskConfig, DiskBuilder, DiskBuildContext } from './builders.js';
export type { ConfigInput } from './manager-config.js';
export type { DefaultDiskMethods } from './default-disk.js';
export { FakeDisk, createFakeDisk, type FakeOptions } from './fake.js';
export type { CountOptions } from './fake-assertions.js';
export {
  StorageEvents,
  logListenerError,
  type StorageEvent,
  type StorageEventBase,
  type StorageEventMap,
  type StorageEventName,
  type StorageListener,
  type ListenerErrorHandler,
  type WrittenEvent,
  type DeletedEvent,
  type TransferEvent,
  type DirectoryEvent,
  type VisibilityEvent,
} from './events.js';

// Decorators: drivers wrapping a driver, stackable (scoped(encrypted(cached(s3)))); Storage.build(driver) makes a Disk of one.
export { ForwardingDriver } from './decorators/forwarding-driver.js';
export { createScopedDriver, ScopedDriver, type ScopedOptions } from './decorators/scoped.js';
export { createReadOnlyDriver, ReadOnlyDriver } from './decorators/read-only.js';
export { createEncryptedDriver, type EncryptedOptions } from './decorators/encrypted/index.js';
export {
  createCachedDriver,
  CachedDriver,
  createMemoryCacheStore,
  createFolderCacheStore,
  createRedisCacheStore,
  type CachedOptions,
  type CacheStore,
  type CacheCounters,
} from './decorators/cached/index.js';
export { createCdnDriver, CdnDriver, type CdnOptions, type CdnInvalidation, type InvalidationStats } from './decorators/cdn/index.js';

// Uploads: rules, virus scan, image steps, thumbnails and metadata before a file is stored (issue 6).
export {
  UploadHandler,
  createUploadHandler,
  UploadRejectedError,
  isUploadRejected,
  DEFAULT_THUMBNAIL_SIZES,
  DEFAULT_CLAMD_SOCKET,
  type UploadConfig,
  type UploadOptions,
  type UploadResult,
  type UploadedThumbnail,
  type UploadHandlerOptions,
  type UploadFile,
  type UploadProgress,
  type UploadMetadata,
  type UploadRejectionRule,
  type UploadNaming,
  type UploadThumbnailSize,
  type UploadThumbnailsConfig,
  type UploadOptimiseConfig,
  type UploadConvertConfig,
  type UploadWatermarkConfig,
  type ClamdUploadOptions,
  type StagedUpload,
  type PreparedThumbnail,
  type ResolvedUploadConfig,
} from './upload/index.js';
