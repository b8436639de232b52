import { defineVfsSuite } from './suite/index.js';
import { mountedTarget } from './support/mounted-target.js';

/** The VFS functional suite through a real FUSE mount (storaged mount in a child process), on the local disk. */
defineVfsSuite('vfs mounted on local', () => mountedTarget('local'));
