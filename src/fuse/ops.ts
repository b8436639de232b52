/**
 * The shape of the operations object fuse-native 2.2.6 calls (path-based,
 * high-level libfuse 2.9). Every callback takes a result code first: 0 or a
 * negative errno, or for read/write/getxattr sizes the byte count.
 */

/** A callback that takes only a result code. */
export type Done = (code: number) => void;
/** A callback that takes a result code and, on success, a value. */
export type Give<T> = (code: number, value?: T) => void;

/** A stat as fuse-native encodes it: times in milliseconds since the epoch (that is all the binding carries). */
export interface FuseStat {
  mode: number;
  uid: number;
  gid: number;
  size: number;
  dev: number;
  nlink: number;
  ino: number;
  rdev: number;
  blksize: number;
  blocks: number;
  atime: number;
  mtime: number;
  ctime: number;
}

/** statvfs(3) as fuse-native encodes it (each field an unsigned 32-bit number). */
export interface FuseStatfs {
  bsize: number;
  frsize: number;
  blocks: number;
  bfree: number;
  bavail: number;
  files: number;
  ffree: number;
  favail: number;
  fsid: number;
  flag: number;
  namemax: number;
}

/** The operations storaged implements (fuse-native's names and argument orders). */
export interface FuseOps {
  init(cb: Done): void;
  access(path: string, mode: number, cb: Done): void;
  statfs(path: string, cb: Give<FuseStatfs>): void;
  getattr(path: string, cb: Give<FuseStat>): void;
  /** fuse-native 2.2.6 routes fstat to getattr(path); kept for when it does not. */
  fgetattr(path: string, fh: number, cb: Give<FuseStat>): void;
  /** `names` and `stats` have the same length (then d_ino and d_type come from the stats). */
  readdir(path: string, cb: (code: number, names?: string[], stats?: FuseStat[]) => void): void;
  open(path: string, flags: number, cb: Give<number>): void;
  /** fuse-native passes no open flags to create. */
  create(path: string, mode: number, cb: Give<number>): void;
  /** Fills `buf` (`length` bytes) from `position`; the callback gets the byte count. */
  read(path: string, fh: number, buf: Buffer, length: number, position: number, cb: Done): void;
  /** `buf` is libfuse's memory, valid until the callback; the callback gets the byte count. */
  write(path: string, fh: number, buf: Buffer, length: number, position: number, cb: Done): void;
  flush(path: string, fh: number, cb: Done): void;
  fsync(path: string, dataSync: number, fh: number, cb: Done): void;
  fsyncdir(path: string, dataSync: number, fh: number, cb: Done): void;
  release(path: string, fh: number, cb: Done): void;
  truncate(path: string, size: number, cb: Done): void;
  ftruncate(path: string, fh: number, size: number, cb: Done): void;
  chmod(path: string, mode: number, cb: Done): void;
  /** 0xFFFFFFFF (uid_t -1) means "leave as is". */
  chown(path: string, uid: number, gid: number, cb: Done): void;
  /** Times in milliseconds since the epoch. */
  utimens(path: string, atime: number, mtime: number, cb: Done): void;
  mkdir(path: string, mode: number, cb: Done): void;
  rmdir(path: string, cb: Done): void;
  unlink(path: string, cb: Done): void;
  rename(src: string, dest: string, cb: Done): void;
  /** Creates `path` as a symlink whose content is `target`. */
  symlink(target: string, path: string, cb: Done): void;
  readlink(path: string, cb: Give<string>): void;
  /** Creates `dest` as a new name of the file at `src`. */
  link(src: string, dest: string, cb: Done): void;
  mknod(path: string, mode: number, dev: number, cb: Done): void;
  setxattr(path: string, name: string, value: Buffer, position: number, flags: number, cb: Done): void;
  getxattr(path: string, name: string, position: number, cb: Give<Buffer>): void;
  listxattr(path: string, cb: Give<string[]>): void;
  removexattr(path: string, name: string, cb: Done): void;
}
