import { defineVfsSuite } from './suite/index.js';
import { rawVfsCases } from './suite/raw-vfs.js';
import { directTarget } from './support/direct-target.js';

/** The VFS functional suite on the Vfs called directly (as the kernel would), on the local disk, plus the raw Vfs contract. */
defineVfsSuite('vfs direct on local', () => directTarget('local'), rawVfsCases);
