import { constants } from 'node:fs';
import { join } from 'node:path';
import { parseConfig } from '../../../../src/core/config/loader.js';
import { createLogger } from '../../../../src/core/logger.js';
import { createDiskVfs } from '../../../../src/daemon/index.js';
import { ROOT_INO, type Vfs } from '../../../../src/daemon/vfs/types.js';
import { createDriver } from '../../../../src/drivers/registry.js';
import type { StorageDriver } from '../../../../src/drivers/types.js';
import { RDWR, ROOT, WRONLY } from '../support.js';
import { contentOf, type CrashOp } from './crash-workload.js';

/** Where a crash test keeps its state: the disk's cache folder and the local backend's root. */
export interface CrashPlaces {
  cacheDir: string;
  root: string;
  /** write_back.delay in seconds. */
  delay: number;
}

/** A VFS of the local disk `disk` as the mount command opens it (64 KiB blocks), with its driver; logs at `logLevel` to stderr. */
export async function openCrashVfs(places: CrashPlaces, logLevel = 'silent'): Promise<{ vfs: Vfs; driver: StorageDriver }> {
  const text =
    `cache: { dir: ${places.cacheDir}, max_size: 1GiB }\n` +
    `mount: { block_size: 64KiB, read_ahead: 128KiB, refresh_ttl: 60 }\n` +
    `write_back: { delay: ${places.delay}, max_retry_delay: 1 }\n` +
    `disks:\n  disk: { driver: local, root: ${places.root} }\n`;
  const config = parseConfig(text, join(places.cacheDir, 'config.yaml'), places.cacheDir, {});
  const driver = await createDriver(config.disks.disk!, { diskName: 'disk' });
  const vfs = await createDiskVfs({ diskName: 'disk', driver, config, logger: createLogger('crash-test', logLevel), uid: 0, gid: 0 });
  return { vfs, driver };
}

/** The inode of a '/'-separated path ('' is the root). */
async function inoOf(vfs: Vfs, path: string): Promise<number> {
  let ino = ROOT_INO;
  for (const name of path.split('/').filter((part) => part !== '')) ino = (await vfs.lookup(ino, name)).ino;
  return ino;
}

function split(path: string): { dir: string; name: string } {
  const at = path.lastIndexOf('/');
  return at < 0 ? { dir: '', name: path } : { dir: path.slice(0, at), name: path.slice(at + 1) };
}

/** Runs one operation through the Vfs as a program would (create/open, write, close). */
export async function runCrashOp(vfs: Vfs, op: CrashOp): Promise<void> {
  switch (op.kind) {
    case 'mkdir': {
      const { dir, name } = split(op.path);
      await vfs.mkdir(await inoOf(vfs, dir), name, 0o755, ROOT);
      return;
    }
    case 'write': {
      const { dir, name } = split(op.path);
      const parent = await inoOf(vfs, dir);
      let fh: number;
      try {
        fh = await vfs.open((await vfs.lookup(parent, name)).ino, { flags: WRONLY.flags | constants.O_TRUNC }, ROOT);
      } catch {
        fh = (await vfs.create(parent, name, 0o644, RDWR, ROOT)).fh;
      }
      const data = contentOf(op.size, op.seed);
      // Written in pieces of 256 KiB, as the kernel would send them (in smaller ones).
      for (let at = 0; at < data.length; at += 256 * 1024) await vfs.write(fh, at, data.subarray(at, at + 256 * 1024));
      await vfs.flush(fh);
      await vfs.release(fh);
      return;
    }
    case 'rename': {
      const from = split(op.from);
      const to = split(op.to);
      await vfs.rename(await inoOf(vfs, from.dir), from.name, await inoOf(vfs, to.dir), to.name);
      return;
    }
    case 'unlink': {
      const { dir, name } = split(op.path);
      await vfs.unlink(await inoOf(vfs, dir), name);
      return;
    }
  }
}
