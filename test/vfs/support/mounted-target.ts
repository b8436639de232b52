import { mkdtemp, rm, rmdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startMount, storagedFor, type MountExit, type RunningMount } from '../../support/mount.js';
import { DISK, startBackend, type BackendKind } from './backends.js';
import { mountedFs, xattrToolAvailable } from './mounted.js';
import type { Target } from './target.js';

/** SIGTERM must end a mount cleanly: exit code 0, unmounted by storaged itself (PRODUCT.md). */
function expectCleanExit(exit: MountExit, output: string): void {
  if (exit.code === 0 && exit.unmountedByChild && !exit.killed) return;
  throw new Error(`storaged mount did not stop cleanly on SIGTERM: ${JSON.stringify(exit)}\n${output}`);
}

/** The suite through a real FUSE mount served by a `storaged mount` child process. */
export async function mountedTarget(kind: BackendKind): Promise<Target> {
  const backend = await startBackend(kind);
  const xattr = await xattrToolAvailable();
  const mountpoint = await mkdtemp(join(tmpdir(), `storaged-mnt-${kind}-`));
  let mount: RunningMount;
  try {
    mount = await startMount({ config: backend.configText, disk: DISK, mountpoint });
  } catch (err) {
    await backend.stop();
    await rmdir(mountpoint).catch(() => undefined);
    throw err;
  }
  const remount = async (options?: { coldCache?: boolean }) => {
    expectCleanExit(await mount.stop(), mount.output());
    if (options?.coldCache) await rm(backend.cacheDir, { recursive: true, force: true });
    // Same mountpoint path, so the suite's fs keeps working.
    mount = await startMount({ config: backend.configText, disk: DISK, mountpoint });
  };
  return {
    label: `mounted ${kind}`,
    fs: mountedFs(mountpoint, { xattr }),
    backend,
    mountpoint,
    vfs: () => null,
    async settle() {
      // `storaged sync` asks the running mount over its control socket and returns once the backend has everything.
      const run = await storagedFor(mount, ['sync', mountpoint], 120_000);
      if (run.code !== 0) throw new Error(`storaged sync ${mountpoint} exited ${run.code}: ${run.stderr}\n${mount.output()}`);
    },
    remount,
    async close() {
      let exit: MountExit | undefined;
      try {
        exit = await mount.stop();
      } finally {
        await backend.stop();
        // rmdir, never rm -r: a mountpoint that failed to unmount must not have the disk's files deleted.
        await rmdir(mountpoint).catch(() => undefined);
      }
      expectCleanExit(exit, mount.output());
    },
  };
}
