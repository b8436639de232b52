/**
 * The encrypted decorator: authenticated encryption (AES-256-GCM, chunked)
 * of every file of a disk, with key ids for rotation. Format: format.ts.
 */
export { createEncryptedDriver, type EncryptedOptions } from './driver.js';
