/**
 * The library's upload handler (issue 6): upload rules, virus scan, image
 * processing, thumbnails and metadata before a file is stored on a disk.
 * See UploadHandler for the steps and their order.
 */
export { UploadHandler, createUploadHandler, type UploadOptions, type UploadResult, type UploadedThumbnail, type UploadHandlerOptions } from './handler.js';
export {
  DEFAULT_THUMBNAIL_SIZES,
  resolveUploadConfig,
  type UploadConfig,
  type ResolvedUploadConfig,
  type ResolvedThumbnails,
  type UploadNaming,
  type UploadThumbnailSize,
  type UploadThumbnailsConfig,
  type UploadOptimiseConfig,
  type UploadConvertConfig,
  type UploadWatermarkConfig,
} from './config.js';
export { UploadRejectedError, isUploadRejected, type UploadRejectionRule, type UploadRejectionDetails } from './errors.js';
export { DEFAULT_CLAMD_SOCKET, type ClamdUploadOptions } from './scanner.js';
export type { UploadFile, UploadProgress, StagedUpload } from './staging.js';
export type { UploadMetadata } from './metadata.js';
export type { PreparedThumbnail } from './images.js';
