import { constants } from 'node:fs';
import { FsError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { AttrChanges, Caller, DirEntry, Fh, Ino, Vfs } from '../daemon/vfs/types.js';
import { makeReply, type ReplyArgs } from './errno.js';
import { HiddenFiles, isHiddenPath } from './hidden.js';
import { listedEntries, type ListingCache } from './listing.js';
import type { FuseOps, FuseTime, HandlePath } from './ops.js';
import { PathResolver } from './paths.js';
import { listingStats, toFuseStat, toFuseStatfs } from './stat.js';

/** What the adapter needs besides the VFS. */
export interface AdapterOptions {
  logger: Logger;
  /** How long resolved directory paths are trusted, in ms (the entry timeout). */
  pathCacheTtlMs: number;
  /** How long a libfuse hidden name outlives its unlink, in ms (see hidden.ts; default 2000). */
  hiddenGraceMs?: number;
  /** Where listings leave their entries' attributes for the FUSE threads (listing.ts); none: every request reaches the VFS. */
  listingCache?: ListingCache;
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

/** utimens times as VFS changes; a time libfuse says to leave (UTIME_OMIT, null) is left out. */
function timeChanges(atime: FuseTime, mtime: FuseTime): AttrChanges {
  return { ...(atime === null ? {} : { atime }), ...(mtime === null ? {} : { mtime }) };
}

/**
 * The fuse-native operations object over a Vfs. Each callback only
 * translates: resolves the path to inodes (PathResolver), calls the VFS with
 * the request's caller (uid/gid/pid from the FUSE context: new nodes belong
 * to it, the VFS checks its owner rules against it), converts the result
 * (stat.ts); every outcome goes through `reply`, which maps errors to errno
 * in one place (errno.ts). Open handles are the VFS's own numbers (they must
 * fit in 31 bits: fuse-native passes them as int32); operations on a handle
 * go by the handle (their path may be null when libfuse lost track of the
 * file's name). libfuse's `.fuse_hidden` names never reach the VFS (hidden.ts).
 */
export function createFuseOps(vfs: Vfs, options: AdapterOptions): FuseOps {
  const reply = makeReply(options.logger);
  const paths = new PathResolver(vfs, { ttlMs: options.pathCacheTtlMs });
  const hidden = new HiddenFiles(vfs, { graceMs: options.hiddenGraceMs ?? 2000, logger: options.logger });
  /** The inode at `path`, a libfuse hidden name included. */
  const resolve = async (path: string): Promise<Ino> => hidden.ino(path) ?? paths.resolve(path);
  /** fh -> ino of open handles, for fgetattr and ftruncate. */
  const handles = new Map<Fh, Ino>();
  const inoOf = async (path: HandlePath, fh: Fh): Promise<Ino> => {
    const ino = handles.get(fh);
    if (ino !== undefined) return ino;
    if (path === null) throw new FsError('EBADF', `no open handle ${fh}`);
    return resolve(path);
  };
  const setattr = async (path: string, changes: AttrChanges, caller: Caller): Promise<ReplyArgs> =>
    after(vfs.setattr(await resolve(path), changes, caller));
  const listing = options.listingCache;
  /** Hands a listing's entries to the binding's cache; a failure only costs speed. */
  const cacheListing = (cache: ListingCache, generation: number, dir: string, entries: DirEntry[]): void => {
    try {
      cache.fill(generation, dir, listedEntries(entries));
    } catch (err) {
      options.logger.debug({ err, dir }, 'listing not cached');
    }
  };

  return {
    init: (cb) => cb(0),
    // default_permissions: the kernel checks access itself and does not ask.
    access: (_path, _mode, cb) => cb(0),
    statfs: (_path, cb) => reply(cb, async () => ok(toFuseStatfs(await vfs.statfs()))),
    getattr: (path, cb) => reply(cb, async () => ok(toFuseStat(await vfs.getattr(await resolve(path))))),
    fgetattr: (path, fh, cb) => reply(cb, async () => ok(toFuseStat(await vfs.getattr(await inoOf(path, fh))))),

    readdir: (path, cb) =>
      reply(cb, async () => {
        // An open directory that was removed since (null path) lists empty, as on Linux file systems.
        if (path === null) return ok([], []);
        // Read before the VFS is: a change that starts after this makes the fill below store nothing.
        const generation = listing?.generation();
        const ino = await paths.resolve(path);
        const entries = await vfs.readdir(ino);
        const parent = path === '/' ? ino : (await paths.resolveParent(path)).parent;
        if (listing !== undefined && generation !== undefined) cacheListing(listing, generation, path, entries);
        return ok(['.', '..', ...entries.map((e) => e.name)], listingStats(ino, parent, entries));
      }),

    open: (path, flags, cb, caller) =>
      reply(cb, async () => {
        const ino = await resolve(path);
        const fh = await vfs.open(ino, { flags }, caller);
        handles.set(fh, ino);
        return ok(fh);
      }),

    create: (path, mode, cb, caller) =>
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

    truncate: (path, size, cb, caller) => reply(cb, () => setattr(path, { size }, caller)),
    ftruncate: (path, fh, size, cb, caller) =>
      reply(cb, async () => after(vfs.setattr(await inoOf(path, fh), { size }, caller, fh))),
    chmod: (path, mode, cb, caller) => reply(cb, () => setattr(path, { mode: mode & 0o7777 }, caller)),
    chown: (path, uid, gid, cb, caller) =>
      reply(cb, () =>
        setattr(path, { ...(uid === UNCHANGED_ID ? {} : { uid }), ...(gid === UNCHANGED_ID ? {} : { gid }) }, caller),
      ),
    // 'now' (touch) needs only write permission, explicit times ownership: the VFS tells them apart.
    utimens: (path, atime, mtime, cb, caller) =>
      reply(cb, () => setattr(path, timeChanges(atime, mtime), caller)),

    mkdir: (path, mode, cb, caller) =>
      reply(cb, async () => {
        const { parent, name } = await paths.resolveParent(path);
        return after(vfs.mkdir(parent, name, mode & 0o7777, caller));
      }),

    mknod: (path, mode, _dev, cb, caller) =>
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
        // libfuse removes a hidden name after the last release of its file.
        if (hidden.ino(path) !== undefined) {
          hidden.unlink(path);
          return done;
        }
        const { parent, name } = await paths.resolveParent(path);
        return after(vfs.unlink(parent, name));
      }),

    rename: (src, dest, cb) =>
      reply(cb, async () => {
        const from = await paths.resolveParent(src);
        if (isHiddenPath(dest)) {
          // libfuse hides an open file that is unlinked or renamed over: an unlink in the VFS, an alias here.
          await hidden.hide(dest, await resolve(src), () => vfs.unlink(from.parent, from.name));
          return done;
        }
        const to = await paths.resolveParent(dest);
        await vfs.rename(from.parent, from.name, to.parent, to.name).finally(() => {
          paths.invalidate(src);
          paths.invalidate(dest);
        });
        return done;
      }),

    symlink: (target, path, cb, caller) =>
      reply(cb, async () => {
        const { parent, name } = await paths.resolveParent(path);
        return after(vfs.symlink(parent, name, target, caller));
      }),

    readlink: (path, cb) => reply(cb, async () => ok(await vfs.readlink(await resolve(path)))),

    link: (src, dest, cb) =>
      reply(cb, async () => {
        const ino = await resolve(src);
        const { parent, name } = await paths.resolveParent(dest);
        return after(vfs.link(ino, parent, name));
      }),

    // The value is libfuse's memory, detached after the reply: the VFS gets its own copy to keep.
    setxattr: (path, name, value, _position, flags, cb) =>
      reply(cb, async () => after(vfs.setxattr(await resolve(path), name, Buffer.from(value), flags))),
    getxattr: (path, name, _position, cb) => reply(cb, async () => ok(await vfs.getxattr(await resolve(path), name))),
    listxattr: (path, cb) => reply(cb, async () => ok(await vfs.listxattr(await resolve(path)))),
    removexattr: (path, name, cb) => reply(cb, async () => after(vfs.removexattr(await resolve(path), name))),
  };
}
