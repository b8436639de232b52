/** The cdn decorator: CDN public URLs and invalidation on change (see CdnDriver). */
export { CdnDriver, createCdnDriver, type CdnOptions } from './driver.js';
export { DEFAULT_INVALIDATION_TIMEOUT_MS, type CdnInvalidation, type InvalidationErrorHandler, type InvalidationStats } from './invalidation.js';
