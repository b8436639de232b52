import { createReadStream } from 'node:fs';
import { copyFile, mkdir, rename, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { fromSystemError, FsError } from '../../../../src/core/errors.js';
import type { DropFileVersion, DropFolder } from '../../../../src/daemon/hooks/types.js';

/**
 * A DropFolder over a plain local directory (real files), for the hook
 * engine's tests. `released` lists every release() call in order; `moves`
 * every file setAside() moved (path -> where). Set `failRelease` to make
 * release() throw it.
 */
export class TempFolder implements DropFolder {
  readonly released: string[] = [];
  readonly moves = new Map<string, string>();
  failRelease: Error | undefined;

  constructor(
    readonly name: string,
    readonly root: string,
  ) {}

  /** The local path of `path` (relative to the root). */
  local(path: string): string {
    return join(this.root, path);
  }

  async stat(path: string): Promise<DropFileVersion | undefined> {
    try {
      const info = await stat(this.local(path));
      return info.isFile() ? { path, size: info.size, mtimeMs: info.mtimeMs } : undefined;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw fromSystemError(err, { path, op: 'stat' });
    }
  }

  async read(path: string): Promise<Readable> {
    const version = await this.stat(path);
    if (version === undefined) throw new FsError('ENOENT', `'${path}' is gone`, { path, op: 'read' });
    return createReadStream(this.local(path));
  }

  async replace(path: string, from: string): Promise<void> {
    await this.writeAt(this.local(path), from);
  }

  async writeDerived(target: string, from: string): Promise<void> {
    await this.writeAt(this.local(target), from);
  }

  async setAside(path: string, into: string): Promise<string> {
    const source = this.local(path);
    const planned = join(into, path);
    if ((await this.stat(path)) === undefined) {
      const earlier = this.moves.get(path) ?? planned;
      if (await exists(earlier)) return earlier;
      throw new FsError('ENOENT', `'${path}' is gone and was never set aside in '${into}'`, { path, op: 'set aside' });
    }
    let target = planned;
    for (let n = 1; await exists(target); n++) target = `${planned}.${n}`;
    try {
      await mkdir(dirname(target), { recursive: true });
      await rename(source, target);
    } catch (err) {
      throw fromSystemError(err, { path, op: 'set aside' });
    }
    this.moves.set(path, target);
    return target;
  }

  async remove(path: string): Promise<void> {
    await rm(this.local(path), { force: true });
  }

  async release(path: string): Promise<void> {
    if (this.failRelease !== undefined) throw this.failRelease;
    this.released.push(path);
  }

  private async writeAt(target: string, from: string): Promise<void> {
    const temporary = `${target}.${process.pid}.tmp`;
    try {
      await mkdir(dirname(target), { recursive: true });
      await copyFile(from, temporary);
      await rename(temporary, target);
    } catch (err) {
      throw fromSystemError(err, { path: target, op: 'write' });
    }
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}
