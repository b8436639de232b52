import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { errnoNumber } from '../core/errors.js';
import type { ListingCache } from './listing.js';
import type { FuseOps, FuseStat, Give } from './ops.js';

/**
 * The one place that touches fuse-native 2.2.6 (CommonJS, untyped): its
 * class, typed just enough, and a subclass that fixes what the package still
 * gets wrong after native/fuse-native.patch. The patch (applied and compiled
 * by native/build-fuse-native.mjs at npm install) gives every operation its
 * caller, passes utimens times intact, lets handle operations run with a
 * null path, answers ESTALE where libfuse would answer ENOENT for an
 * inode it lost the path of (so the kernel looks the name up again), and
 * keeps a cache of the attributes of recently listed entries on the FUSE
 * threads (ListingCache); assertPatchedBuild refuses to mount with anything else.
 */

/** fuse-native's reply to the C side: a result code, then values for it. */
type Signal = (code: number, ...values: unknown[]) => void;

/** fuse-native constructor options we use (`fsname` carries the whole option string, see mount-options.ts). */
export interface NativeOptions {
  fsname: string;
  /** false: fuse-native never answers a pending request by itself (it would reply ETIMEDOUT after 15 s). */
  timeout: false;
}

/** fuse-native's own view of the ops: the patched index.js appends the caller to each call itself. */
interface BoundOps {
  getxattr(path: string, name: string, position: number, cb: Give<Buffer>): void;
  listxattr(path: string, cb: Give<string[]>): void;
}

interface FuseInstance {
  readonly mnt: string;
  readonly ops: BoundOps;
  _thread: Buffer | null;
  mount(cb: (err: Error | null) => void): void;
  unmount(cb: (err: Error | null) => void): void;
  _close(cb: (err: Error | null) => void): void;
  _op_getxattr(signal: Signal, path: string, name: string, valueBuf: Buffer, position: number): void;
  _op_listxattr(signal: Signal, path: string, listBuf: Buffer): void;
}

interface FuseClass {
  new (mountpoint: string, ops: FuseOps, options: NativeOptions): FuseInstance;
  /** Set by the patched index.js from the compiled binding: the patch version it was built from. */
  readonly STORAGED_PATCH?: number;
}

interface NativeBinding {
  fuse_native_unmount(mountpoint: string, thread: Buffer | null): void;
  storaged_cache_generation(thread: Buffer): number;
  storaged_cache_fill(thread: Buffer, generation: number, ttlMs: number, dir: string, names: string[], stats: Buffer, noXattrs: Buffer): number;
}

const require = createRequire(import.meta.url);
const Fuse = require('fuse-native') as FuseClass;
/** The same compiled binding fuse-native loaded (node-gyp-build resolves it from fuse-native's folder; require caches it). */
const fuseNativeDir = dirname(require.resolve('fuse-native'));
const binding = createRequire(require.resolve('fuse-native'))('node-gyp-build')(fuseNativeDir) as NativeBinding;

/** The version of native/fuse-native.patch this code is written against (`storaged_patch` in the patch). */
export const FUSE_NATIVE_PATCH_VERSION = 2;

const ERANGE = -errnoNumber('ERANGE');
const EIO = -errnoNumber('EIO');

/**
 * Throws unless fuse-native is the build of native/fuse-native.patch this
 * code expects (its index.js and compiled binding both patched, of this
 * version). Without it every request would be attributed to nobody in
 * particular and utimens would be wrong, so there is no fallback.
 */
export function assertPatchedBuild(): void {
  if (Fuse.STORAGED_PATCH !== FUSE_NATIVE_PATCH_VERSION) {
    throw new Error('fuse-native is not the patched build: run npm ci');
  }
}

/** uint32s per stat in the binding's encoding (fuse-native's getStatArray). */
const STAT_INTS = 18;
const TWO_32 = 4294967296;

/** Stats in the binding's encoding, one after another. */
export function encodeStats(stats: readonly FuseStat[]): Buffer {
  const ints = new Uint32Array(stats.length * STAT_INTS);
  stats.forEach((stat, i) => {
    const at = i * STAT_INTS;
    const double = (index: number, value: number) => {
      ints[at + index] = value % TWO_32;
      ints[at + index + 1] = Math.floor(value / TWO_32);
    };
    ints[at] = stat.mode;
    ints[at + 1] = stat.uid;
    ints[at + 2] = stat.gid;
    double(3, stat.size);
    ints[at + 5] = stat.dev;
    ints[at + 6] = stat.nlink || 1;
    ints[at + 7] = stat.ino;
    ints[at + 8] = stat.rdev;
    ints[at + 9] = stat.blksize;
    double(10, stat.blocks);
    double(12, stat.atime);
    double(14, stat.mtime);
    double(16, stat.ctime);
  });
  return Buffer.from(ints.buffer, ints.byteOffset, ints.byteLength);
}

/**
 * Unmounts the kernel side of a mount (unmountKernel in mountinfo.ts); injected so this file
 * stays about fuse-native only.
 */
export type KernelUnmount = (mountpoint: string) => Promise<void>;

/**
 * The patched fuse-native's Fuse with two more fixes:
 * - getxattr/listxattr: a value longer than a non-zero caller buffer replies
 *   ERANGE (fuse-native would claim the full length, and libfuse would send
 *   bytes past its buffer); a size query (buffer of 0) gets the exact size.
 * - unmount: a plain unmount, falling back to a lazy one when busy (through
 *   `kernelUnmount`), then releases the native handle so the process can exit.
 *   fuse-native always unmounts lazily and skips the release when the
 *   mountpoint was already unmounted.
 */
export class StoragedFuse extends Fuse {
  readonly #kernelUnmount: KernelUnmount;

  constructor(mountpoint: string, ops: FuseOps, options: NativeOptions, kernelUnmount: KernelUnmount) {
    assertPatchedBuild();
    super(mountpoint, ops, options);
    this.#kernelUnmount = kernelUnmount;
  }

  /** The binding's attribute cache of this mount, entries kept `ttlMs` (0: nothing is ever cached). */
  listingCache(ttlMs: number): ListingCache {
    return {
      generation: () => (this._thread === null ? -1 : binding.storaged_cache_generation(this._thread)),
      fill: (generation, dir, entries) => {
        if (this._thread === null || generation < 0 || ttlMs <= 0 || entries.length === 0) return 0;
        const names = entries.map((entry) => entry.name);
        const stats = encodeStats(entries.map((entry) => entry.stat));
        const noXattrs = Buffer.from(entries.map((entry) => (entry.noXattrs ? 1 : 0)));
        return binding.storaged_cache_fill(this._thread, generation, Math.ceil(ttlMs), dir, names, stats, noXattrs);
      },
    };
  }

  override _op_getxattr(signal: Signal, path: string, name: string, valueBuf: Buffer, position: number): void {
    this.ops.getxattr(path, name, position, (code, value) => {
      if (code !== 0 || value === undefined) return signal(code === 0 ? EIO : code, valueBuf.buffer);
      if (valueBuf.length > 0 && value.length > valueBuf.length) return signal(ERANGE, valueBuf.buffer);
      value.copy(valueBuf);
      return signal(value.length, valueBuf.buffer);
    });
  }

  override _op_listxattr(signal: Signal, path: string, listBuf: Buffer): void {
    this.ops.listxattr(path, (code, names) => {
      if (code !== 0 || names === undefined) return signal(code === 0 ? EIO : code, listBuf.buffer);
      const list = Buffer.concat(names.map((name) => Buffer.from(`${name}\0`)));
      if (listBuf.length > 0 && list.length > listBuf.length) return signal(ERANGE, listBuf.buffer);
      list.copy(listBuf);
      return signal(list.length, listBuf.buffer);
    });
  }

  override _close(cb: (err: Error | null) => void): void {
    this.#kernelUnmount(this.mnt).then(
      () => {
        binding.fuse_native_unmount(this.mnt, this._thread);
        cb(null);
      },
      (err: Error) => cb(err),
    );
  }
}
