/**
 * The daemon: the engine behind a mount, with no FUSE types in it. The FUSE
 * adapter and the CLI build a disk's Vfs with createDiskVfs.
 */
export { createDiskVfs, type DiskVfsOptions } from './disk-vfs.js';
export { createVfs, type VfsDeps, type VfsSettings } from './vfs/index.js';
export * from './vfs/types.js';
