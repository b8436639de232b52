import { lstat, mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { FsError } from '../../core/errors.js';
import { normalizeKey } from '../../core/paths.js';
import type { Vfs } from '../vfs/types.js';
import type { MountWatchBridge } from './mount-watches.js';
import { sha256OfStream } from '../../drivers/shared/body.js';
import { numberedName, sha256OfFile, writeStreamDurably } from './steps/files.js';
import type { DropFileVersion, DropFolder } from './types.js';
import { lookupPath, readStream, removePath, requirePath, writeFromLocal } from './vfs-files.js';

/**
 * A DropFolder inside a mounted disk: the watch's folder `folderKey` (a key
 * from the disk root, '' for the whole disk) worked on through the disk's
 * VFS, never through the mount point. The engine's own writes go through
 * the bridge's ownWrite (no job of their own, upload not held). setAside
 * copies the file to a local folder (durably) and then removes it from the
 * disk: a held (never uploaded) file never reaches the backend.
 */
export class MountedDropFolder implements DropFolder {
  constructor(
    readonly name: string,
    private readonly vfs: Vfs,
    private readonly folderKey: string,
    private readonly bridge: MountWatchBridge,
  ) {}

  async stat(path: string): Promise<DropFileVersion | undefined> {
    const attr = await lookupPath(this.vfs, this.key(path));
    if (attr === undefined || attr.type !== 'file') return undefined;
    return { path: normalizeKey(path), size: attr.size, mtimeMs: Number(attr.mtimeNs / 1_000_000n) };
  }

  read(path: string): Promise<Readable> {
    return readStream(this.vfs, this.key(path));
  }

  async replace(path: string, from: string): Promise<void> {
    const key = this.key(path);
    await requirePath(this.vfs, key);
    await this.write(key, from);
  }

  async writeDerived(target: string, from: string): Promise<void> {
    await this.write(normalizeKey(target), from);
  }

  /**
   * Copies the file to `into/<path>` (` (2)`... when a different file has
   * that name) and removes it from the disk. A copy left by an interrupted
   * earlier run (same bytes) is reused; the file already gone -> the copy
   * that exists at `into/<path>`, else ENOENT.
   */
  async setAside(path: string, into: string): Promise<string> {
    const key = this.key(path);
    const wanted = join(into, normalizeKey(path));
    const attr = await lookupPath(this.vfs, key);
    if (attr === undefined) {
      if (await exists(wanted)) return wanted;
      throw new FsError('ENOENT', `drop folder '${this.name}': cannot set '${path}' aside: it is gone`, { path, op: 'set aside' });
    }
    await mkdir(dirname(wanted), { recursive: true });
    const placed = await this.copyOut(key, wanted);
    await removePath(this.vfs, key);
    return placed;
  }

  async remove(path: string): Promise<void> {
    await removePath(this.vfs, this.key(path));
  }

  async release(path: string): Promise<void> {
    const attr = await lookupPath(this.vfs, this.key(path));
    if (attr !== undefined) this.vfs.releaseUpload(attr.ino);
  }

  /** The disk key of a path inside the folder. */
  private key(path: string): string {
    const relative = normalizeKey(path);
    return this.folderKey === '' ? relative : `${this.folderKey}/${relative}`;
  }

  private async write(key: string, from: string): Promise<void> {
    await this.bridge.ownWrite(key, async () => {
      await writeFromLocal(this.vfs, key, from);
      const attr = await requirePath(this.vfs, key);
      return { size: attr.size, mtimeMs: Number(attr.mtimeNs / 1_000_000n) };
    });
  }

  /** The disk file `key` copied to `wanted` or the first free numbered name; an identical copy already there is reused. */
  private async copyOut(key: string, wanted: string): Promise<string> {
    let digest: string | undefined;
    for (let n = 1; ; n++) {
      const candidate = n === 1 ? wanted : numberedName(wanted, n);
      if (!(await exists(candidate))) {
        await writeStreamDurably(candidate, await readStream(this.vfs, key));
        return candidate;
      }
      digest ??= (await sha256OfStream(await readStream(this.vfs, key))).hex;
      if ((await sha256OfFile(candidate)) === digest) return candidate;
    }
  }
}

async function exists(path: string): Promise<boolean> {
  return lstat(path).then(
    () => true,
    () => false,
  );
}
