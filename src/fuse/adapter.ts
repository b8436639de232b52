import { constants } from 'node:fs';
import type { Logger } from '../core/logger.js';
import type { AttrChanges, Caller, Fh, Ino, Vfs } from '../daemon/vfs/types.js';
import { makeReply, type ReplyArgs } from './errno.js';
import type { FuseOps } from './ops.js';
import { PathResolver } from './paths.js';
import { listingStats, msToTimeSpec, toFuseStat, toFuseStatfs } from './stat.js';

/** What the adapter needs besides the VFS. */
export interface AdapterOptions {
  logger: Logger;
  /**
   * Who every request is attributed to. fuse-native 2.2.6 does not expose
   * the FUSE request context (uid/gid/pid of the caller), so one caller
   * stands for all: the mounting process. The kernel still checks
   * permissions per real caller (default_permissions), chmod/chown/utimes
   * ownership rules included.
   */
  caller: Caller;
  /** How long resolved directory paths are trusted, in ms (the entry timeout). */
  pathCacheTtlMs: number;
}

/** uid_t/gid_t -1 as fuse-native passes it: "leave unchanged". */
const UNCHANGED_ID = 0xffffffff;
/** fuse-native does not pass create's open flags; a created file is open for reading and writing. */
const CREATE_FLAGS = constants.O_CREAT | constants.O_RDWR;

const ok = (...values: unknown[]): ReplyArgs => [0, ...values];
const done: ReplyArgs = [0];
/** Waits for `work` and replies plain success. */
const after = async (work: Promise<unknown>): Promise<ReplyArgs> => {
  await work;
  return done;
};

/**
 * The fuse-native operations object over a Vfs. Each callback only
 * translates: resolves the path to inodes (PathResolver), calls the VFS,
 * converts the result (stat.ts); every outcome goes through `reply`, which
 * maps errors to errno in one place (errno.ts). Open handles are the VFS's
 * own numbers (they must fit in 31 bits: fuse-native passes them as int32).
 */
export function createFuseOps(vfs: Vfs, options: AdapterOptions): FuseOps {
  const reply = makeReply(options.logger);
  const paths = new PathResolver(vfs, { ttlMs: options.pathCacheTtlMs });
  const caller = options.caller;
  /** fh -> ino of open handles, for fgetattr and ftruncate (whose path may be a libfuse .fuse_hidden name). */
  const handles = new Map<Fh, Ino>();
  const inoOf = async (path: string, fh: Fh): Promise<Ino> => handles.get(fh) ?? paths.resolve(path);
  const setattr = async (path: string, changes: AttrChanges): Promise<ReplyArgs> =>
    after(vfs.setattr(await paths.resolve(path), changes, caller));

  return {
    init: (cb) => cb(0),
    // default_permissions: the kernel checks access itself and does not ask.
    access: (_path, _mode, cb) => cb(0),
    statfs: (_path, cb) => reply(cb, async () => ok(toFuseStatfs(await vfs.statfs()))),
    getattr: (path, cb) => reply(cb, async () => ok(toFuseStat(await vfs.getattr(await paths.resolve(path))))),
    fgetattr: (path, fh, cb) => reply(cb, async () => ok(toFuseStat(await vfs.getattr(await inoOf(path, fh))))),

    readdir: (path, cb) =>
      reply(cb, async () => {
        const ino = await paths.resolve(path);
        const entries = await vfs.readdir(ino);
        const parent = path === '/' ? ino : (await paths.resolveParent(path)).parent;
        return ok(['.', '..', ...entries.map((e) => e.name)], listingStats(ino, parent, entries));
      }),

    open: (path, flags, cb) =>
      reply(cb, async () => {
        const ino = await paths.resolve(path);
        const fh = await vfs.open(ino, { flags }, caller);
        handles.set(fh, ino);
        return ok(fh);
      }),

    create: (path, mode, cb) =>
      reply(cb, async () => {
        const { parent, name } = await paths.resolveParent(path);
        const { attr, fh } = await vfs.create(parent, name, mode & 0o7777, { flags: CREATE_FLAGS }, caller);
        handles.set(fh, attr.ino);
        return ok(fh);
      }),

    read: (_path, fh, buf, length, position, cb) =>
      reply(cb, async () => {
        const data = await vfs.read(fh, position, length);
        return [data.copy(buf, 0, 0, Math.min(length, data.length))];
      }),

    // `buf` is libfuse's memory, detached right after the reply: the VFS must be done with it when write resolves.
    write: (_path, fh, buf, length, position, cb) => reply(cb, async () => [await vfs.write(fh, position, buf.subarray(0, length))]),

    flush: (_path, fh, cb) => reply(cb, () => after(vfs.flush(fh))),
    fsync: (_path, dataSync, fh, cb) => reply(cb, () => after(vfs.fsync(fh, dataSync !== 0))),
    // Directory changes reach the backend as they happen; nothing to sync.
    fsyncdir: (_path, _dataSync, _fh, cb) => cb(0),

    release: (_path, fh, cb) =>
      reply(cb, async () => {
        try {
          await vfs.release(fh);
        } finally {
          handles.delete(fh);
        }
        return done;
      }),

    truncate: (path, size, cb) => reply(cb, () => setattr(path, { size })),
    ftruncate: (path, fh, size, cb) =>
      reply(cb, async () => after(vfs.setattr(await inoOf(path, fh), { size }, caller, fh))),
    chmod: (path, mode, cb) => reply(cb, () => setattr(path, { mode: mode & 0o7777 })),
    chown: (path, uid, gid, cb) =>
      reply(cb, () =>
        setattr(path, { ...(uid === UNCHANGED_ID ? {} : { uid }), ...(gid === UNCHANGED_ID ? {} : { gid }) }),
      ),
    utimens: (path, atime, mtime, cb) => reply(cb, () => setattr(path, { atime: msToTimeSpec(atime), mtime: msToTimeSpec(mtime) })),

    mkdir: (path, mode, cb) =>
      reply(cb, async () => {
        const { parent, name } = await paths.resolveParent(path);
        return after(vfs.mkdir(parent, name, mode & 0o7777, caller));
      }),

    mknod: (path, mode, _dev, cb) =>
      reply(cb, async () => {
        const { parent, name } = await paths.resolveParent(path);
        return after(vfs.mknod(parent, name, mode, caller));
      }),

    rmdir: (path, cb) =>
      reply(cb, async () => {
        const { parent, name } = await paths.resolveParent(path);
        await vfs.rmdir(parent, name).finally(() => paths.invalidate(path));
        return done;
      }),

    unlink: (path, cb) =>
      reply(cb, async () => {
        const { parent, name } = await paths.resolveParent(path);
        return after(vfs.unlink(parent, name));
      }),

    rename: (src, dest, cb) =>
      reply(cb, async () => {
        const from = await paths.resolveParent(src);
        const to = await paths.resolveParent(dest);
        await vfs.rename(from.parent, from.name, to.parent, to.name).finally(() => {
          paths.invalidate(src);
          paths.invalidate(dest);
        });
        return done;
      }),

    symlink: (target, path, cb) =>
      reply(cb, async () => {
        const { parent, name } = await paths.resolveParent(path);
        return after(vfs.symlink(parent, name, target, caller));
      }),

    readlink: (path, cb) => reply(cb, async () => ok(await vfs.readlink(await paths.resolve(path)))),

    link: (src, dest, cb) =>
      reply(cb, async () => {
        const ino = await paths.resolve(src);
        const { parent, name } = await paths.resolveParent(dest);
        return after(vfs.link(ino, parent, name));
      }),

    // The value is libfuse's memory, detached after the reply: the VFS gets its own copy to keep.
    setxattr: (path, name, value, _position, flags, cb) =>
      reply(cb, async () => after(vfs.setxattr(await paths.resolve(path), name, Buffer.from(value), flags))),
    getxattr: (path, name, _position, cb) => reply(cb, async () => ok(await vfs.getxattr(await paths.resolve(path), name))),
    listxattr: (path, cb) => reply(cb, async () => ok(await vfs.listxattr(await paths.resolve(path)))),
    removexattr: (path, name, cb) => reply(cb, async () => after(vfs.removexattr(await paths.resolve(path), name))),
  };
}
