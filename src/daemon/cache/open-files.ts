import { close, open, read } from 'node:fs';

interface OpenFile {
  /** The descriptor, once open() has answered (its failure rejects every waiting reader). */
  fd: Promise<number>;
  /** Reads using the descriptor now. */
  users: number;
  /** Out of the table (evicted, forgotten, closed): the last user closes the descriptor. */
  dropped: boolean;
}

/** Default number of descriptors an OpenFiles keeps open. */
export const DEFAULT_MAX_OPEN_FILES = 128;

/**
 * A small table of read-only file descriptors of immutable files (the
 * content-addressed block files), keyed by the caller's key, so that reads
 * of the same file do not open and close it each time. At most `maxOpen`
 * descriptors stay open when idle, least recently used closed first; a
 * descriptor is never closed while a read uses it (the read that finishes
 * last closes a dropped one), so a descriptor number is never reused under
 * a read. forget() drops a key's descriptor (its file is being removed);
 * a read that starts after it opens the file again.
 */
export class OpenFiles {
  private readonly files = new Map<string, OpenFile>();
  private closed = false;

  constructor(private readonly maxOpen = DEFAULT_MAX_OPEN_FILES) {}

  /** Descriptors open or being opened (for tests). */
  get size(): number {
    return this.files.size;
  }

  /**
   * Reads up to `length` bytes at `position` of the file at `path` (known as
   * `key`) into target[targetOffset...]; resolves the bytes read, fewer only
   * at the end of the file. Rejects with the system error of open or read
   * (ENOENT when the file is gone).
   */
  async read(key: string, path: string, target: Buffer, targetOffset: number, length: number, position: number): Promise<number> {
    const file = this.acquire(key, path);
    try {
      const fd = await file.fd;
      let filled = 0;
      while (filled < length) {
        const got = await preadOnce(fd, target, targetOffset + filled, length - filled, position + filled);
        if (got === 0) break;
        filled += got;
      }
      return filled;
    } finally {
      this.release(key, file);
    }
  }

  /** Drops the descriptor of `key` (closed now, or by the read still using it). */
  forget(key: string): void {
    const file = this.files.get(key);
    if (file === undefined) return;
    this.files.delete(key);
    this.drop(file);
  }

  /** Drops every descriptor; later reads still work (they open and close their file). */
  closeAll(): void {
    this.closed = true;
    for (const file of this.files.values()) this.drop(file);
    this.files.clear();
  }

  private acquire(key: string, path: string): OpenFile {
    let file = this.files.get(key);
    if (file === undefined) {
      file = { fd: openReadOnly(path), users: 0, dropped: false };
      if (this.closed) file.dropped = true;
      else this.files.set(key, file);
      // A failed open is not kept: the next read tries again (and sees ENOENT again if the file is gone).
      const opened = file;
      opened.fd.catch(() => {
        if (this.files.get(key) === opened) this.files.delete(key);
        opened.dropped = true;
      });
    } else {
      // Most recently used last: Map keeps insertion order.
      this.files.delete(key);
      this.files.set(key, file);
    }
    file.users++;
    this.trim();
    return file;
  }

  private release(key: string, file: OpenFile): void {
    file.users--;
    if (file.dropped && file.users === 0) closeQuietly(file);
    else if (this.files.get(key) === file) this.trim();
  }

  /** Closes idle descriptors, oldest first, while more than maxOpen are open. */
  private trim(): void {
    if (this.files.size <= this.maxOpen) return;
    for (const [key, file] of this.files) {
      if (this.files.size <= this.maxOpen) return;
      if (file.users > 0) continue;
      this.files.delete(key);
      this.drop(file);
    }
  }

  private drop(file: OpenFile): void {
    file.dropped = true;
    if (file.users === 0) closeQuietly(file);
  }
}

function openReadOnly(path: string): Promise<number> {
  return new Promise((resolve, reject) => open(path, 'r', (err, fd) => (err ? reject(err) : resolve(fd))));
}

function preadOnce(fd: number, target: Buffer, offset: number, length: number, position: number): Promise<number> {
  return new Promise((resolve, reject) => read(fd, target, offset, length, position, (err, bytesRead) => (err ? reject(err) : resolve(bytesRead))));
}

/** Closes a dropped, unused descriptor (once: `users` stays 0 and it is out of the table). */
function closeQuietly(file: OpenFile): void {
  file.users = -1;
  file.fd.then(
    (fd) => close(fd, () => undefined),
    () => undefined,
  );
}
