import { constants } from 'node:fs';
import type { Logger } from '../core/logger.js';
import type { Caller, Fh, Ino, Vfs } from '../daemon/vfs/types.js';

/**
 * libfuse's hidden names, kept out of the VFS.
 *
 * High-level libfuse (without hard_remove) does not unlink a file that is
 * open, nor let a rename replace one: it first renames it to
 * `.fuse_hidden<nodeid><counter>` in the same directory, serves the open
 * handles through that name, and unlinks the name after the last release.
 * Passed on as they are, those renames would reach the backend (a copy and
 * a delete on object stores), show in listings, and leave a short window in
 * which a replaced file is reachable by no name at all.
 *
 * Instead, hiding a file is an unlink in the VFS (which keeps an unlinked
 * file's data while a handle is open) and the hidden name an alias of the
 * inode here. The alias outlives libfuse's unlink of it by `graceMs`, and
 * holds a handle of its own meanwhile, so a request that the kernel had
 * already addressed to the old inode when it was replaced (an open through a
 * path looked up just before, an fstat) still finds it, as on a local file
 * system.
 */

/** libfuse 2.9's hidden name: `.fuse_hidden%08x%08x` (hidden_name() in fuse.c). */
const HIDDEN_NAME = /(^|\/)\.fuse_hidden[0-9a-f]{16}$/;

/** The caller of the alias's own handle: the mount itself. */
const MOUNT_CALLER: Caller = { uid: 0, gid: 0, pid: 0 };

interface Alias {
  ino: Ino;
  /** The alias's own handle, keeping the inode's data alive. */
  fh: Fh | undefined;
  timer?: NodeJS.Timeout;
}

/** True when `path` ends in a libfuse hidden name. */
export function isHiddenPath(path: string): boolean {
  return HIDDEN_NAME.test(path);
}

/** The hidden-name aliases of one mount (see the file comment). */
export class HiddenFiles {
  readonly #vfs: Vfs;
  readonly #graceMs: number;
  readonly #logger: Logger;
  readonly #aliases = new Map<string, Alias>();

  constructor(vfs: Vfs, options: { graceMs: number; logger: Logger }) {
    this.#vfs = vfs;
    this.#graceMs = options.graceMs;
    this.#logger = options.logger;
  }

  /** The inode a hidden path stands for, or undefined when `path` is no live alias. */
  ino(path: string): Ino | undefined {
    return this.#aliases.get(path)?.ino;
  }

  /**
   * Makes `hiddenPath` an alias of `ino` and runs `unlink` (the VFS unlink
   * of the file's visible name). The alias's handle is opened first, so the
   * data stays even when no other handle is left by then.
   */
  async hide(hiddenPath: string, ino: Ino, unlink: () => Promise<void>): Promise<void> {
    const fh = await this.#vfs.open(ino, { flags: constants.O_RDONLY }, MOUNT_CALLER).catch(() => undefined);
    this.#aliases.set(hiddenPath, { ino, fh });
    try {
      await unlink();
    } catch (err) {
      this.#drop(hiddenPath);
      throw err;
    }
  }

  /** libfuse unlinks the hidden name (last release): the alias goes after the grace period. */
  unlink(hiddenPath: string): void {
    const alias = this.#aliases.get(hiddenPath);
    if (alias === undefined || alias.timer !== undefined) return;
    alias.timer = setTimeout(() => this.#drop(hiddenPath), this.#graceMs);
    alias.timer.unref();
  }

  /** Drops every alias at once (before the VFS closes). */
  async clear(): Promise<void> {
    await Promise.all([...this.#aliases.keys()].map((path) => this.#drop(path)));
  }

  async #drop(hiddenPath: string): Promise<void> {
    const alias = this.#aliases.get(hiddenPath);
    if (alias === undefined) return;
    this.#aliases.delete(hiddenPath);
    clearTimeout(alias.timer);
    if (alias.fh === undefined) return;
    await this.#vfs.release(alias.fh).catch((err: unknown) => this.#logger.debug({ err, hiddenPath }, 'releasing a hidden alias failed'));
  }
}
