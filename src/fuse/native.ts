import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { errnoNumber } from '../core/errors.js';
import type { FuseOps } from './ops.js';

/**
 * The one place that touches fuse-native 2.2.6 (CommonJS, untyped): its
 * class, typed just enough, and a subclass that fixes what the package gets
 * wrong. Each fix relies on fuse-native internals that are pinned by the
 * exact version; test/fuse covers every one of them end to end.
 */

/** fuse-native's reply to the C side: a result code, then values for it. */
type Signal = (code: number, ...values: unknown[]) => void;
/** A per-operation entry of fuse-native's handler table, called from C. */
type NativeHandler = (locals: Buffer, opCode: number, ...args: unknown[]) => void;

/** fuse-native constructor options we use (`fsname` carries the whole option string, see mount-options.ts). */
export interface NativeOptions {
  fsname: string;
  /** false: fuse-native never answers a pending request by itself (it would reply ETIMEDOUT after 15 s). */
  timeout: false;
}

interface FuseInstance {
  readonly mnt: string;
  readonly ops: FuseOps;
  _thread: Buffer | null;
  mount(cb: (err: Error | null) => void): void;
  unmount(cb: (err: Error | null) => void): void;
  _makeHandlerArray(): NativeHandler[];
  _close(cb: (err: Error | null) => void): void;
  _op_getxattr(signal: Signal, path: string, name: string, valueBuf: Buffer, position: number): void;
  _op_listxattr(signal: Signal, path: string, listBuf: Buffer): void;
}

interface FuseClass {
  new (mountpoint: string, ops: FuseOps, options: NativeOptions): FuseInstance;
}

interface NativeBinding {
  fuse_native_unmount(mountpoint: string, thread: Buffer | null): void;
}

const require = createRequire(import.meta.url);
const Fuse = require('fuse-native') as FuseClass;
/** The same compiled binding fuse-native loaded (node-gyp-build resolves it from fuse-native's folder; require caches it). */
const fuseNativeDir = dirname(require.resolve('fuse-native'));
const binding = createRequire(require.resolve('fuse-native'))('node-gyp-build')(fuseNativeDir) as NativeBinding;

const ERANGE = -errnoNumber('ERANGE');
const EIO = -errnoNumber('EIO');
/** op_utimens in fuse-native.c. */
const OP_UTIMENS = 12;
/** Offsets of `size_t atime` and `size_t mtime` in fuse-native.c's fuse_thread_locals_t (x86-64/arm64 Linux). */
const LOCALS_ATIME_OFFSET = 104;
const LOCALS_MTIME_OFFSET = 112;

/**
 * Unmounts the kernel side of a mount (unmountKernel in mountinfo.ts); injected so this file
 * stays about fuse-native only.
 */
export type KernelUnmount = (mountpoint: string) => Promise<void>;

/**
 * fuse-native's Fuse with three fixes:
 * - utimens: fuse-native.c passes atime twice (its mtime never reaches JS).
 *   The handler reads mtime from the per-thread C struct fuse-native hands
 *   to JS as a Buffer, after checking that the atime field at the expected
 *   offset holds the atime that was passed (else it keeps the atime, as
 *   fuse-native would).
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
    super(mountpoint, ops, options);
    this.#kernelUnmount = kernelUnmount;
  }

  override _makeHandlerArray(): NativeHandler[] {
    const handlers = super._makeHandlerArray();
    const utimens = handlers[OP_UTIMENS];
    if (utimens) {
      handlers[OP_UTIMENS] = (locals, opCode, path, atimeLow, atimeHigh, mtimeLow, mtimeHigh) => {
        const mtime = mtimeFromLocals(locals, Number(atimeLow), Number(atimeHigh));
        const [low, high] = mtime ?? [mtimeLow, mtimeHigh];
        utimens(locals, opCode, path, atimeLow, atimeHigh, low, high);
      };
    }
    return handlers;
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

/** The mtime [low, high] words from fuse-native's thread locals, or undefined when the layout check fails. */
function mtimeFromLocals(locals: unknown, atimeLow: number, atimeHigh: number): [number, number] | undefined {
  if (!Buffer.isBuffer(locals) || locals.length < LOCALS_MTIME_OFFSET + 8) return undefined;
  const atime = BigInt(atimeLow) + (BigInt(atimeHigh) << 32n);
  if (locals.readBigUInt64LE(LOCALS_ATIME_OFFSET) !== atime) return undefined;
  return [locals.readUInt32LE(LOCALS_MTIME_OFFSET), locals.readUInt32LE(LOCALS_MTIME_OFFSET + 4)];
}
