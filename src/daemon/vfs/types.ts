/**
 * The VFS contract: inode operations with no FUSE types in them. The FUSE
 * adapter (src/fuse) and the tests call these; every rejection is an FsError
 * whose code the adapter maps to an errno in one place.
 */

import type { FailingOperation } from '../status.js';

/** Inode number; the root directory is ROOT_INO. Stays below 2^32 (fuse-native passes 32 bits). */
export type Ino = number;
export const ROOT_INO: Ino = 1;

/** An open file handle, returned by open/create. Stays below 2^31. */
export type Fh = number;

/** What an inode is. */
export type NodeType = 'file' | 'directory' | 'symlink';

/** Attributes of an inode, as stat(2) shows them. */
export interface Attr {
  ino: Ino;
  type: NodeType;
  /** Full st_mode: type bits (S_IFREG/S_IFDIR/S_IFLNK) | permission bits. */
  mode: number;
  nlink: number;
  uid: number;
  gid: number;
  /** Bytes (for a symlink: the target's length). */
  size: number;
  atimeNs: bigint;
  mtimeNs: bigint;
  ctimeNs: bigint;
}

/** Who asks: from the FUSE request context. */
export interface Caller {
  uid: number;
  gid: number;
  pid: number;
}

/** A time to set: nanoseconds since the epoch, or the current time. */
export type TimeSpec = bigint | 'now';

/** Changes of setattr; absent fields stay. `size` truncates or extends. */
export interface AttrChanges {
  /** Permission bits (and setuid/setgid/sticky); the type bits are ignored. */
  mode?: number;
  uid?: number;
  gid?: number;
  size?: number;
  atime?: TimeSpec;
  mtime?: TimeSpec;
}

/** One entry of a directory listing (without '.' and '..'). */
export interface DirEntry {
  name: string;
  ino: Ino;
  type: NodeType;
  /** The entry's attributes, as getattr would answer them at the time of the listing. */
  attr: Attr;
  /** True when the entry has at least one extended attribute. */
  hasXattrs: boolean;
}

/** statfs(2) numbers. */
export interface FsStats {
  blockSize: number;
  blocks: number;
  blocksFree: number;
  blocksAvailable: number;
  files: number;
  filesFree: number;
  nameMax: number;
}

/** open(2) flags the VFS looks at (values from fs.constants). */
export interface OpenFlags {
  /** The raw flags word (O_RDONLY/O_WRONLY/O_RDWR, O_TRUNC, O_APPEND, O_EXCL...). */
  flags: number;
}

/**
 * The filesystem the mount serves. Names are single path components (no
 * '/'); ENAMETOOLONG above 255 bytes. Operations on a missing inode or name
 * reject ENOENT; the usual POSIX codes apply (EEXIST, ENOTDIR, EISDIR,
 * ENOTEMPTY, EACCES, EPERM, EINVAL, EXDEV, EIO, ENOSPC). Data written through
 * a handle is visible to every reader at once. Changes reach the backend in
 * the background (write-back): each is journaled before the call returns,
 * a closed or fsynced file survives a crash of the process (and, with
 * fsync_on_close, a power cut), and `sync`/`close` wait until the backend
 * has everything.
 * Implementations never block the event loop for long: SQLite calls are
 * short, file I/O and network are async.
 */
export interface Vfs {
  lookup(parent: Ino, name: string): Promise<Attr>;
  getattr(ino: Ino): Promise<Attr>;
  /** chmod/chown/truncate/utimens; `fh` when called on an open file (ftruncate). ctime is updated. */
  setattr(ino: Ino, changes: AttrChanges, caller: Caller, fh?: Fh): Promise<Attr>;
  /** Every entry of a directory with its attributes (readdirplus), sorted by name. ENOTDIR for a non-directory. */
  readdir(ino: Ino): Promise<DirEntry[]>;
  open(ino: Ino, flags: OpenFlags, caller: Caller): Promise<Fh>;
  /** Creates and opens a regular file; EEXIST if the name exists. `mode` has permission bits. */
  create(parent: Ino, name: string, mode: number, flags: OpenFlags, caller: Caller): Promise<{ attr: Attr; fh: Fh }>;
  /** Regular files only (S_IFREG or no type bits); anything else EPERM. */
  mknod(parent: Ino, name: string, mode: number, caller: Caller): Promise<Attr>;
  /** Up to `length` bytes at `offset`; fewer only at end of file. */
  read(fh: Fh, offset: number, length: number): Promise<Buffer>;
  /**
   * Writes all of `data` at `offset` (at the end for O_APPEND handles); returns the byte count.
   * `data` is libfuse's memory: it is valid only until the promise settles, so never keep it.
   */
  write(fh: Fh, offset: number, data: Buffer): Promise<number>;
  /** Called on every close(2) of a descriptor. */
  flush(fh: Fh): Promise<void>;
  /** Makes the file's data and attributes durable in the cache (fsync) and schedules its upload. */
  fsync(fh: Fh, dataOnly: boolean): Promise<void>;
  /** The last close of a handle: schedules the upload of a changed file, frees the handle. */
  release(fh: Fh): Promise<void>;
  mkdir(parent: Ino, name: string, mode: number, caller: Caller): Promise<Attr>;
  unlink(parent: Ino, name: string): Promise<void>;
  rmdir(parent: Ino, name: string): Promise<void>;
  /** Atomic within the mount; replaces an existing target (file over file, empty dir over dir). */
  rename(parent: Ino, name: string, newParent: Ino, newName: string): Promise<void>;
  symlink(parent: Ino, name: string, target: string, caller: Caller): Promise<Attr>;
  readlink(ino: Ino): Promise<string>;
  /** Hard link: a second name for a file (EPERM for directories). */
  link(ino: Ino, newParent: Ino, newName: string): Promise<Attr>;
  statfs(): Promise<FsStats>;
  setxattr(ino: Ino, name: string, value: Buffer, flags: number): Promise<void>;
  /** ENODATA when the attribute does not exist. */
  getxattr(ino: Ino, name: string): Promise<Buffer>;
  listxattr(ino: Ino): Promise<string[]>;
  removexattr(ino: Ino, name: string): Promise<void>;
  /**
   * Uploads everything pending now (open files with changes too) and
   * resolves when the backend has it all, except uploads an UploadObserver
   * holds (they stay journaled).
   */
  sync(): Promise<void>;
  /** The UploadObserver lets a held upload of `ino` go: it starts now (a no-op when none is held). */
  releaseUpload(ino: Ino): void;
  /**
   * Lists `path` (a key relative to the disk root; '' for the root) from the
   * backend again now: a directory and every directory below it that was
   * listed before; for a file, its directory. ENOENT when the index has no
   * such path.
   */
  refresh(path: string): Promise<void>;
  /** The write-back queue and cache use now. */
  status(): WriteBackStatus;
  /** Uploads everything pending (unless `abandon`: it stays journaled), closes the index. The VFS is unusable afterwards. */
  close(options?: CloseOptions): Promise<void>;
}

/** Options of Vfs.close. */
export interface CloseOptions {
  /** Stop at once: pending backend operations stay journaled for the next start. */
  abandon?: boolean;
  /** Called about once a second while pending operations drain. */
  onProgress?: (status: WriteBackStatus) => void;
}

/** What Vfs.status reports (DiskStatus without the mount's identity and the cache limit). */
export interface WriteBackStatus {
  pending: { operations: number; uploads: number; bytes: number };
  inFlight: string[];
  /** Paths whose upload an UploadObserver holds back (drop folders waiting for a scan). */
  held: string[];
  failing: FailingOperation[];
  totals: { done: number; retries: number; uploads: number; uploadedBytes: number };
  cache: { bytes: number; dirtyBytes: number };
  /** Content not uploaded because the disk already held it. */
  dedup: { files: number; bytesSaved: number; uploadMsSaved: number };
}

/** A changed file as an UploadObserver sees it: its inode, its path (a key from the disk's root), size and mtime. */
export interface ObservedFile {
  ino: Ino;
  path: string;
  size: number;
  /** Modification time, ms since the epoch. */
  mtimeMs: number;
}

/**
 * Drop folders' say over a disk's write-back (issue 6). `closed` is told of
 * every close of a changed file (after its upload was journaled; it must not
 * block: record and return). `holds` is asked right before each upload
 * starts, the journal's resumed ones after a restart included: true keeps
 * the upload journaled but not started until the observer calls
 * Vfs.releaseUpload(ino). Both are synchronous and short (the FUSE path
 * waits for `closed`); a throw is logged and counts as "not held".
 */
export interface UploadObserver {
  closed?(file: ObservedFile): void;
  holds?(file: ObservedFile): boolean;
}
