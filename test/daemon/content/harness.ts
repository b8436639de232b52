import { afterEach, expect } from 'vitest';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { openBlockCache, type BlockCache } from '../../../src/daemon/cache/block-cache.js';
import { createContentManager, type DiskContentManager } from '../../../src/daemon/content/index.js';
import type { ContentLogger } from '../../../src/daemon/content/options.js';
import type { CleanSource, FileContent } from '../../../src/daemon/content/types.js';
import { openDatabase, type Database } from '../../../src/daemon/db.js';
import { openMetadataIndex, type SqliteMetadataIndex } from '../../../src/daemon/meta/index.js';
import { ROOT_INO, type Ino } from '../../../src/daemon/vfs/types.js';
import type { ReadOptions, StorageDriver, WriteOptions, WriteResult } from '../../../src/drivers/types.js';

/** One ranged (or whole) read the driver was asked for. */
export interface ReadCall {
  key: string;
  offset: number;
  length: number | undefined;
}

/**
 * Instrumentation around a real driver: every call goes to it unchanged;
 * reads and writes are recorded, and reads in flight (from the call until
 * the returned stream closes) are counted, with the highest count seen.
 */
export class CountingDriver {
  readonly reads: ReadCall[] = [];
  readonly writes: Array<{ key: string; options: WriteOptions | undefined }> = [];
  inFlight = 0;
  maxInFlight = 0;
  readonly driver: StorageDriver;

  constructor(readonly inner: StorageDriver) {
    this.driver = new Proxy(inner, {
      get: (target, property, receiver) => {
        if (property === 'read') return (path: string, options?: ReadOptions) => this.read(path, options);
        if (property === 'write') return (path: string, body: Readable | Uint8Array, options?: WriteOptions) => this.write(path, body, options);
        const value: unknown = Reflect.get(target, property, receiver);
        return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
      },
    });
  }

  /** Forgets recorded calls (the in-flight count stays). */
  reset(): void {
    this.reads.length = 0;
    this.writes.length = 0;
    this.maxInFlight = this.inFlight;
  }

  /** Resolves once no read is in flight and `busy()` is false (polling; at most `timeoutMs`). */
  async settled(busy: () => boolean = () => false, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.inFlight > 0 || busy()) {
      if (Date.now() > deadline) throw new Error(`reads still in flight after ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }

  /** Block indexes read so far, for blocks of `blockSize` bytes. */
  blocksRead(blockSize: number): number[] {
    return this.reads.map((call) => call.offset / blockSize);
  }

  private async read(path: string, options?: ReadOptions): Promise<Readable> {
    this.reads.push({ key: path, offset: options?.range?.offset ?? 0, length: options?.range?.length });
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      const stream = await this.inner.read(path, options);
      stream.once('close', () => this.inFlight--);
      return stream;
    } catch (err) {
      this.inFlight--;
      throw err;
    }
  }

  private write(path: string, body: Readable | Uint8Array, options?: WriteOptions): Promise<WriteResult> {
    this.writes.push({ key: path, options });
    return this.inner.write(path, body, options);
  }
}

/** A logger that keeps warnings (to assert that swallowed failures were logged). */
export class RecordingLogger implements ContentLogger {
  readonly warnings: Array<{ details: object; message: string }> = [];
  debug(): void {}
  warn(details: object, message: string): void {
    this.warnings.push({ details, message });
  }
}

/** Settings of a test mount's content layer. */
export interface HarnessOptions {
  blockSize: number;
  readAhead?: number;
  fetchConcurrency?: number;
  /** Block store size limit (default unlimited). */
  maxBytes?: number;
  /** Reuse a cache folder (a remount); a fresh one otherwise. */
  dir?: string;
  /** Give the manager BlockCache.promote (as createDiskVfs does). */
  promote?: boolean;
}

/** The content layer of one disk over real SQLite, block store and working files, in a temporary folder. */
export class Harness {
  readonly dir: string;
  readonly db: Database;
  readonly index: SqliteMetadataIndex;
  readonly cache: BlockCache;
  readonly manager: DiskContentManager;
  readonly logger = new RecordingLogger();
  readonly counting: CountingDriver;
  private readonly ownsDir: boolean;
  private closed = false;

  constructor(driver: StorageDriver, readonly options: HarnessOptions) {
    this.ownsDir = options.dir === undefined;
    this.dir = options.dir ?? mkdtempSync(join(tmpdir(), 'storaged-content-'));
    this.db = openDatabase(join(this.dir, 'meta.db'));
    this.index = openMetadataIndex(this.db, { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 });
    this.cache = openBlockCache(this.db, this.dir, { blockSize: options.blockSize, maxBytes: options.maxBytes ?? 0 });
    this.counting = new CountingDriver(driver);
    this.manager = createContentManager({
      driver: this.counting.driver,
      index: this.index,
      blocks: this.cache.blocks,
      working: this.cache.working,
      blockSize: options.blockSize,
      readAhead: options.readAhead ?? 0,
      fetchConcurrency: options.fetchConcurrency ?? 4,
      logger: this.logger,
      ...(options.promote ? { promoteWorkingFile: (ino: number, hash: string, size: number) => this.cache.promote(ino, hash, size) } : {}),
    });
  }

  /** Resolves once no fetch or read-ahead is running or queued and no driver read is in flight. */
  settled(): Promise<void> {
    return this.counting.settled(() => this.manager.pendingFetches() > 0);
  }

  /** A file node under the root (its name is its key) and its inode. */
  node(name: string): Ino {
    const existing = this.index.lookup(ROOT_INO, name);
    if (existing) return existing.ino;
    const t = 1_700_000_000_000_000_000n;
    return this.index.create(ROOT_INO, name, { type: 'file', mode: 0o100644, uid: 0, gid: 0, size: 0, atimeNs: t, mtimeNs: t, ctimeNs: t, state: 'new' }).ino;
  }

  /** Opens the content of file `name` whose backend object is `source` (undefined: never uploaded). */
  open(name: string, source: CleanSource | undefined): Promise<FileContent> {
    return this.manager.open(this.node(name), source);
  }

  /** Files in the block folder (what is stored on the cache disk). */
  blockFiles(): string[] {
    const root = join(this.dir, 'blocks');
    const files: string[] = [];
    for (const prefix of safeList(root)) for (const name of safeList(join(root, prefix))) if (/^[0-9a-f]{64}$/.test(name)) files.push(name);
    return files.sort();
  }

  /** Closes everything; the folder is deleted unless it was given (a remount test reuses it). */
  /** Closes everything once; later calls do nothing. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.manager.close();
    await this.cache.close();
    this.db.close();
    if (this.ownsDir) rmSync(this.dir, { recursive: true, force: true });
  }
}

function safeList(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/** Deterministic pseudo-random bytes (xorshift), so failures reproduce. */
export function patternBytes(length: number, seed: number): Buffer {
  const out = Buffer.allocUnsafe(length);
  let state = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    out[i] = state & 0xff;
  }
  return out;
}

/** A seeded pseudo-random integer source in [0, n). */
export function randomInts(seed: number): (n: number) => number {
  let state = seed >>> 0 || 1;
  return (n) => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) % n;
  };
}

/** Stores `data` at `key` through the real driver and returns the CleanSource the index would give. */
export async function upload(driver: StorageDriver, key: string, data: Buffer): Promise<CleanSource> {
  const result = await driver.write(key, data);
  return result.etag === undefined ? { key, size: result.size } : { key, etag: result.etag, size: result.size };
}

/** The whole object at `key`, read through the real driver. */
export async function download(driver: StorageDriver, key: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of await driver.read(key)) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Asserts two byte strings are equal (Buffer.equals: fast); on mismatch names the lengths and first differing offset. */
export function expectBytes(actual: Buffer, expected: Buffer): void {
  if (actual.equals(expected)) return;
  let at = 0;
  while (at < Math.min(actual.length, expected.length) && actual[at] === expected[at]) at++;
  expect.fail(`bytes differ: got ${actual.length} bytes, expected ${expected.length}; first difference at offset ${at}`);
}

/**
 * A factory of harnesses with `blockSize` for one test file; every harness
 * it made is closed after each test.
 */
export function useHarnesses(blockSize: number): (driver: StorageDriver, options?: Partial<HarnessOptions>) => Harness {
  const made: Harness[] = [];
  afterEach(async () => {
    for (const harness of made.splice(0)) await harness.close();
  });
  return (driver, options = {}) => {
    const harness = new Harness(driver, { blockSize, ...options });
    made.push(harness);
    return harness;
  };
}
