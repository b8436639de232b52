import type { Vfs } from '../../../src/daemon/vfs/types.js';
import type { Backend } from './backends.js';
import type { FsUnderTest } from './fs-under-test.js';

/** A filesystem under test on a backend, which the suite can remount. */
export interface Target {
  readonly label: string;
  readonly fs: FsUnderTest;
  readonly backend: Backend;
  /** The live mount's path (mounted targets), or null (direct). */
  readonly mountpoint: string | null;
  /** The live Vfs (direct targets), or null (mounted). */
  vfs(): Vfs | null;
  /**
   * Stops the filesystem (pending uploads finish) and starts it again on the
   * same config; `coldCache` deletes the cache folder in between, so the tree
   * and content come back from the backend alone.
   */
  remount(options?: { coldCache?: boolean }): Promise<void>;
  /**
   * Waits until the backend has every change made so far (write-back:
   * uploads and namespace operations run in the background). Direct:
   * Vfs.sync(). Mounted: asks the running mount (no file may be open on it).
   */
  settle(): Promise<void>;
  /** Stops the filesystem and the backend. */
  close(): Promise<void>;
}
