/**
 * The filesystem surface the VFS functional suite drives, node:fs-like and
 * async. Two implementations: direct.ts (the Vfs's inode operations, called
 * as a kernel would) and mounted.ts (node:fs/promises on a real FUSE mount).
 * Paths are absolute within the filesystem ('/' is its root). Every failure
 * rejects with an error whose `.code` is the errno name (ENOENT, EEXIST...).
 */

/** What stat/lstat report; times in nanoseconds. */
export interface StatResult {
  ino: number;
  /** Full st_mode (type bits | permission bits). */
  mode: number;
  nlink: number;
  uid: number;
  gid: number;
  size: number;
  atimeNs: bigint;
  mtimeNs: bigint;
  ctimeNs: bigint;
  isFile(): boolean;
  isDirectory(): boolean;
  isSymbolicLink(): boolean;
}

/** statfs numbers the suite checks. */
export interface StatfsResult {
  bsize: number;
  blocks: number;
  bfree: number;
  bavail: number;
  files: number;
  ffree: number;
}

/** An open file. */
export interface HandleUnderTest {
  /** Up to `length` bytes at `position`; fewer only at end of file. */
  read(length: number, position: number): Promise<Buffer>;
  /** Writes all of `data` at `position` (ignored for append handles); the byte count. */
  write(data: Buffer, position: number): Promise<number>;
  truncate(length: number): Promise<void>;
  stat(): Promise<StatResult>;
  /** fsync(2). */
  sync(): Promise<void>;
  close(): Promise<void>;
}

/** node:fs-style open flags the suite uses. */
export type OpenFlag = 'r' | 'r+' | 'w' | 'wx' | 'w+' | 'a' | 'a+';

/** The filesystem under test. */
export interface FsUnderTest {
  /** 'direct' or 'mounted', for labels and for cases only one of them can run. */
  readonly kind: 'direct' | 'mounted';
  writeFile(path: string, data: Buffer | string, options?: { mode?: number; flag?: OpenFlag }): Promise<void>;
  readFile(path: string): Promise<Buffer>;
  appendFile(path: string, data: Buffer | string): Promise<void>;
  open(path: string, flag: OpenFlag, mode?: number): Promise<HandleUnderTest>;
  truncate(path: string, length: number): Promise<void>;
  /** Follows symlinks. */
  stat(path: string): Promise<StatResult>;
  lstat(path: string): Promise<StatResult>;
  /** Entry names without '.' and '..', sorted. */
  readdir(path: string): Promise<string[]>;
  mkdir(path: string, options?: { mode?: number; recursive?: boolean }): Promise<void>;
  rmdir(path: string): Promise<void>;
  unlink(path: string): Promise<void>;
  rename(from: string, to: string): Promise<void>;
  symlink(target: string, path: string): Promise<void>;
  readlink(path: string): Promise<string>;
  link(existing: string, newPath: string): Promise<void>;
  chmod(path: string, mode: number): Promise<void>;
  chown(path: string, uid: number, gid: number): Promise<void>;
  /** Times in nanoseconds since the epoch. */
  utimes(path: string, atimeNs: bigint, mtimeNs: bigint): Promise<void>;
  statfs(path: string): Promise<StatfsResult>;
  /** Extended attributes; null when this surface cannot reach them. */
  readonly xattr: XattrUnderTest | null;
}

/** Extended attributes of a path. */
export interface XattrUnderTest {
  set(path: string, name: string, value: Buffer): Promise<void>;
  /** Rejects ENODATA when absent. */
  get(path: string, name: string): Promise<Buffer>;
  list(path: string): Promise<string[]>;
  remove(path: string, name: string): Promise<void>;
}

/** Error with an errno-style code, as both implementations reject with. */
export function errnoError(code: string, message: string): Error & { code: string } {
  return Object.assign(new Error(`${code}: ${message}`), { code });
}
