/** The file content data path of a mount: reads with read-ahead, the write path and commit. */
export { createContentManager, type DiskContentManager } from './manager.js';
export type { ContentLogger, ContentManagerOptions } from './options.js';
export type { CleanSource, CommitOptions, Committed, ContentManager, FileContent } from './types.js';
