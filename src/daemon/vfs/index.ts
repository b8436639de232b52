/** The VFS of a mounted disk: createVfs and the contract types. */
export { createVfs } from './vfs.js';
export type { VfsDeps, VfsSettings } from './context.js';
export * from './types.js';
