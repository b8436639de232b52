import { constants } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { parseConfig } from '../../../src/core/config/loader.js';
import { createLogger } from '../../../src/core/logger.js';
import { createDiskVfs } from '../../../src/daemon/index.js';
import { ROOT_INO, type Attr, type Caller, type Ino, type UploadObserver, type Vfs } from '../../../src/daemon/vfs/types.js';
import type { StorageDriver } from '../../../src/drivers/types.js';

/** Callers the tests act as. */
export const ROOT: Caller = { uid: 0, gid: 0, pid: 1 };
export const ALICE: Caller = { uid: 1000, gid: 1000, pid: 2 };
export const BOB: Caller = { uid: 2000, gid: 2000, pid: 3 };

export const RDONLY = { flags: constants.O_RDONLY };
export const WRONLY = { flags: constants.O_WRONLY };
export const RDWR = { flags: constants.O_RDWR };

/** Driver calls by method name, counted by countingDriver. */
export interface CallCounts {
  readonly calls: Map<string, number>;
  total(): number;
  reset(): void;
}

const DRIVER_METHODS = new Set([
  'stat', 'list', 'read', 'write', 'delete', 'createDirectory', 'deleteDirectory', 'copy', 'move',
  'setVisibility', 'getVisibility', 'checksum', 'temporaryUrl', 'temporaryUploadUrl',
]);

/** Wraps a driver so that every backend call is counted (close is not forwarded: the test owns the real driver). */
export function countingDriver(inner: StorageDriver): { driver: StorageDriver; counts: CallCounts } {
  const calls = new Map<string, number>();
  const driver = new Proxy(inner, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown;
      if (prop === 'close') return async () => undefined;
      if (typeof prop !== 'string' || !DRIVER_METHODS.has(prop) || typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        calls.set(prop, (calls.get(prop) ?? 0) + 1);
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return {
    driver,
    counts: {
      calls,
      total: () => [...calls.values()].reduce((a, b) => a + b, 0),
      reset: () => calls.clear(),
    },
  };
}

/** A VFS on `driver` with its cache in `cacheDir` (a fresh temp folder when absent). */
export interface Harness {
  vfs: Vfs;
  counts: CallCounts;
  cacheDir: string;
  /** Closes the VFS and opens a new one on the same cache folder (and driver). */
  remount(): Promise<Vfs>;
  /** Closes the VFS and deletes the cache folder. */
  close(): Promise<void>;
}

/** Config `write_back:` settings of a harness (seconds); absent ones keep the config defaults (delay 2 s). */
export interface WriteBackOptions {
  delay?: number;
  concurrency?: number;
  maxRetryDelay?: number;
  fsyncOnClose?: boolean;
}

/** Options of openHarness. */
export interface HarnessOptions {
  refreshTtl?: number;
  cacheDir?: string;
  writeBack?: WriteBackOptions;
  /** Told of closes, asked before uploads (drop folders). */
  uploads?: UploadObserver;
}

/** The `write_back:` line of a test config ('' when every setting keeps its default). */
export function writeBackSection(options: WriteBackOptions = {}): string {
  const fields = [
    options.delay !== undefined ? `delay: ${options.delay}` : '',
    options.concurrency !== undefined ? `concurrency: ${options.concurrency}` : '',
    options.maxRetryDelay !== undefined ? `max_retry_delay: ${options.maxRetryDelay}` : '',
    options.fsyncOnClose !== undefined ? `fsync_on_close: ${options.fsyncOnClose}` : '',
  ].filter((field) => field !== '');
  return fields.length > 0 ? `write_back: { ${fields.join(', ')} }\n` : '';
}

/**
 * Opens a VFS as the mount command does (createDiskVfs), small blocks so
 * offsets cross block boundaries. Write-back keeps the config defaults
 * (uploads 2 s after the last close) unless `writeBack` says otherwise:
 * tests call vfs.sync() before looking at the backend.
 */
export async function openHarness(backend: StorageDriver, options: HarnessOptions = {}): Promise<Harness> {
  const cacheDir = options.cacheDir ?? (await mkdtemp(join(tmpdir(), 'storaged-vfs-unit-')));
  const config = parseConfig(
    `cache: { dir: ${cacheDir}, max_size: 256MiB }\n` +
      `mount: { block_size: 64KiB, read_ahead: 128KiB, refresh_ttl: ${options.refreshTtl ?? 60} }\n` +
      writeBackSection(options.writeBack) +
      `disks:\n  disk: { driver: memory }\n`,
    'test-config.yaml',
    cacheDir,
    {},
  );
  const { driver, counts } = countingDriver(backend);
  const uploads = options.uploads ? { uploads: options.uploads } : {};
  const open = () => createDiskVfs({ diskName: 'disk', driver, config, logger: createLogger('vfs-test', 'silent'), uid: 0, gid: 0, ...uploads });
  const harness: Harness = {
    vfs: await open(),
    counts,
    cacheDir,
    async remount() {
      await harness.vfs.close();
      harness.vfs = await open();
      return harness.vfs;
    },
    async close() {
      try {
        await harness.vfs.close();
      } finally {
        await rm(cacheDir, { recursive: true, force: true });
      }
    },
  };
  return harness;
}

/** Follows a '/'-separated path from the root by lookups. */
export async function resolve(vfs: Vfs, path: string): Promise<Attr> {
  let attr = await vfs.getattr(ROOT_INO);
  for (const name of path.split('/').filter((s) => s !== '')) attr = await vfs.lookup(attr.ino, name);
  return attr;
}

/** Creates (or truncates) parent/name with `data`, released: its upload is scheduled (on the backend after the write-back delay or vfs.sync()). */
export async function writeFile(vfs: Vfs, parent: Ino, name: string, data: Buffer | string, caller: Caller = ROOT, mode = 0o644): Promise<Attr> {
  const { attr, fh } = await vfs.create(parent, name, mode, RDWR, caller);
  const bytes = Buffer.from(data);
  if (bytes.length > 0) await vfs.write(fh, 0, bytes);
  await vfs.flush(fh);
  await vfs.release(fh);
  return vfs.getattr(attr.ino);
}

/** The whole content of a file through a handle. */
export async function readFile(vfs: Vfs, ino: Ino): Promise<Buffer> {
  const fh = await vfs.open(ino, RDONLY, ROOT);
  try {
    const size = (await vfs.getattr(ino)).size;
    return await vfs.read(fh, 0, size + 1);
  } finally {
    await vfs.release(fh);
  }
}

/** The bytes of a backend object. */
export async function readObject(driver: StorageDriver, key: string): Promise<Buffer> {
  const stream: Readable = await driver.read(key);
  const parts: Buffer[] = [];
  for await (const chunk of stream) parts.push(Buffer.from(chunk as Uint8Array));
  return Buffer.concat(parts);
}

/** Every backend key below `dir`, directories with a trailing '/', sorted. */
export async function objectKeys(driver: StorageDriver, dir = ''): Promise<string[]> {
  const keys: string[] = [];
  let cursor: string | undefined;
  do {
    const page = await driver.list(dir, { recursive: true, ...(cursor !== undefined ? { cursor } : {}) });
    for (const entry of page.entries) keys.push(`${entry.path}${entry.type === 'directory' ? '/' : ''}`);
    cursor = page.cursor;
  } while (cursor !== undefined);
  return keys.sort();
}

/** Names of a directory listing. */
export async function names(vfs: Vfs, ino: Ino): Promise<string[]> {
  return (await vfs.readdir(ino)).map((e) => e.name);
}

/** Waits until `check` passes (or throws its last failure after `timeoutMs`). */
export async function eventually(check: () => Promise<void>, timeoutMs = 5000): Promise<void> {
  const started = Date.now();
  for (;;) {
    try {
      return await check();
    } catch (err) {
      if (Date.now() - started > timeoutMs) throw err;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

/** Rejection code of a promise (fails when it resolves). */
export async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (err) {
    return (err as { code?: string }).code ?? 'no code';
  }
  throw new Error('expected a rejection');
}
