import { DEFAULT_KEY_LIMITS } from '../../core/paths.js';
import type { DriverCapabilities } from '../types.js';

/** Conservative defaults a driver spreads and then overrides. */
export const BASE_CAPABILITIES: DriverCapabilities = {
  emptyDirectories: true,
  visibility: false,
  metadata: false,
  publicUrl: false,
  temporaryUrl: false,
  temporaryUrlExpiryEnforced: false,
  temporaryUrlSignatureEnforced: false,
  temporaryUploadUrl: false,
  nativeChecksum: null,
  serverSideCopy: false,
  inProcess: false,
  limits: DEFAULT_KEY_LIMITS,
  mtimeResolutionMs: 1000,
};
