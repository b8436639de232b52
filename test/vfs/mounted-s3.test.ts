import { defineVfsSuite } from './suite/index.js';
import { mountedTarget } from './support/mounted-target.js';

/** The VFS functional suite through a real FUSE mount (storaged mount in a child process), on the s3 disk. */
defineVfsSuite('vfs mounted on s3', () => mountedTarget('s3'));
