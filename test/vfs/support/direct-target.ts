import { rm } from 'node:fs/promises';
import { createLogger } from '../../../src/core/logger.js';
import { createDiskVfs } from '../../../src/daemon/index.js';
import type { Vfs } from '../../../src/daemon/vfs/types.js';
import { createDriver } from '../../../src/drivers/registry.js';
import type { StorageDriver } from '../../../src/drivers/types.js';
import { DISK, startBackend, type Backend, type BackendKind } from './backends.js';
import { directFs } from './direct.js';
import type { Target } from './target.js';

const ROOT_CALLER = { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0, pid: process.pid };

/** Opens the disk's Vfs in this process, as the mount command would. */
async function openVfs(backend: Backend): Promise<{ vfs: Vfs; driver: StorageDriver }> {
  const config = backend.config();
  const driver = await createDriver(config.disks[DISK]!, { diskName: DISK });
  const vfs = await createDiskVfs({ diskName: DISK, driver, config, logger: createLogger('vfs-test', 'warn') });
  return { vfs, driver };
}

/** The suite on the Vfs called directly (no kernel, no FUSE). */
export async function directTarget(kind: BackendKind): Promise<Target> {
  const backend = await startBackend(kind);
  let opened = await openVfs(backend);
  const stopVfs = async () => {
    await opened.vfs.close();
    await opened.driver.close();
  };
  return {
    label: `direct ${kind}`,
    fs: directFs(() => opened.vfs, ROOT_CALLER),
    backend,
    mountpoint: null,
    vfs: () => opened.vfs,
    async settle() {
      await opened.vfs.sync();
    },
    async remount(options) {
      await stopVfs();
      if (options?.coldCache) await rm(backend.cacheDir, { recursive: true, force: true });
      opened = await openVfs(backend);
    },
    async close() {
      try {
        await stopVfs();
      } finally {
        await backend.stop();
      }
    },
  };
}
