/**
 * The shape of the operations object the patched fuse-native 2.2.6 calls
 * (native/fuse-native.patch; path-based, high-level libfuse 2.9). Every
 * callback takes a result code first: 0 or a negative errno, or for
 * read/write/getxattr sizes the byte count. Every operation gets one more
 * argument after its callback: the caller of the request (FuseCaller).
 */

/** Who made a request: uid, gid and pid (thread id) from libfuse's fuse_get_context(). */
export interface FuseCaller {
  uid: number;
  gid: number;
  pid: number;
}

/**
 * The path of an operation on an open handle: null when libfuse no longer
 * knows the file's path (flag_nullpath_ok: say, a file renamed over while
 * its open was under way); such operations go by the handle.
 */
export type HandlePath = string | null;

/** A utimens time: nanoseconds since the epoch, 'now' (UTIME_NOW), or null to leave it (UTIME_OMIT). */
export type FuseTime = bigint | 'now' | null;

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

/** The operations storaged implements (fuse-native's names and argument orders, then the caller). */
export interface FuseOps {
  init(cb: Done, caller: FuseCaller): void;
  access(path: string, mode: number, cb: Done, caller: FuseCaller): void;
  statfs(path: string, cb: Give<FuseStatfs>, caller: FuseCaller): void;
  getattr(path: string, cb: Give<FuseStat>, caller: FuseCaller): void;
  /** stat of an open file: when the kernel names the handle (ftruncate, some reads), not for fstat(2). */
  fgetattr(path: HandlePath, fh: number, cb: Give<FuseStat>, caller: FuseCaller): void;
  /** `names` and `stats` have the same length (then d_ino and d_type come from the stats). */
  readdir(path: HandlePath, cb: (code: number, names?: string[], stats?: FuseStat[]) => void, caller: FuseCaller): void;
  open(path: string, flags: number, cb: Give<number>, caller: FuseCaller): void;
  /** fuse-native passes no open flags to create. */
  create(path: string, mode: number, cb: Give<number>, caller: FuseCaller): void;
  /** Fills `buf` (`length` bytes) from `position`; the callback gets the byte count. */
  read(path: HandlePath, fh: number, buf: Buffer, length: number, position: number, cb: Done, caller: FuseCaller): void;
  /** `buf` is libfuse's memory, valid until the callback; the callback gets the byte count. */
  write(path: HandlePath, fh: number, buf: Buffer, length: number, position: number, cb: Done, caller: FuseCaller): void;
  flush(path: HandlePath, fh: number, cb: Done, caller: FuseCaller): void;
  fsync(path: HandlePath, dataSync: number, fh: number, cb: Done, caller: FuseCaller): void;
  fsyncdir(path: HandlePath, dataSync: number, fh: number, cb: Done, caller: FuseCaller): void;
  release(path: HandlePath, fh: number, cb: Done, caller: FuseCaller): void;
  truncate(path: string, size: number, cb: Done, caller: FuseCaller): void;
  ftruncate(path: HandlePath, fh: number, size: number, cb: Done, caller: FuseCaller): void;
  chmod(path: string, mode: number, cb: Done, caller: FuseCaller): void;
  /** 0xFFFFFFFF (uid_t -1) means "leave as is". */
  chown(path: string, uid: number, gid: number, cb: Done, caller: FuseCaller): void;
  utimens(path: string, atime: FuseTime, mtime: FuseTime, cb: Done, caller: FuseCaller): void;
  mkdir(path: string, mode: number, cb: Done, caller: FuseCaller): void;
  rmdir(path: string, cb: Done, caller: FuseCaller): void;
  unlink(path: string, cb: Done, caller: FuseCaller): void;
  rename(src: string, dest: string, cb: Done, caller: FuseCaller): void;
  /** Creates `path` as a symlink whose content is `target`. */
  symlink(target: string, path: string, cb: Done, caller: FuseCaller): void;
  readlink(path: string, cb: Give<string>, caller: FuseCaller): void;
  /** Creates `dest` as a new name of the file at `src`. */
  link(src: string, dest: string, cb: Done, caller: FuseCaller): void;
  mknod(path: string, mode: number, dev: number, cb: Done, caller: FuseCaller): void;
  setxattr(path: string, name: string, value: Buffer, position: number, flags: number, cb: Done, caller: FuseCaller): void;
  getxattr(path: string, name: string, position: number, cb: Give<Buffer>, caller: FuseCaller): void;
  listxattr(path: string, cb: Give<string[]>, caller: FuseCaller): void;
  removexattr(path: string, name: string, cb: Done, caller: FuseCaller): void;
}
