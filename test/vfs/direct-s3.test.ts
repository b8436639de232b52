import { defineVfsSuite } from './suite/index.js';
import { rawVfsCases } from './suite/raw-vfs.js';
import { directTarget } from './support/direct-target.js';

/** The VFS functional suite on the Vfs called directly (as the kernel would), on the s3 disk, plus the raw Vfs contract. */
defineVfsSuite('vfs direct on s3', () => directTarget('s3'), rawVfsCases);
