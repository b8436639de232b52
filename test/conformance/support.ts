import { randomBytes, createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, expect, type TestContext } from 'vitest';
import { FsError, type FsErrorCode } from '../../src/core/errors.js';
import type { DriverCapabilities, FileStat, ReadOptions, StorageDriver } from '../../src/drivers/types.js';
import type { ConformanceFixture } from './fixture.js';

/** What every area of the suite receives from describeConformance. */
export interface AreaContext {
  fixture: ConformanceFixture;
}

/**
 * Registers, in the current `describe`, a beforeAll that creates one fresh
 * driver from the fixture and an afterAll that closes it. Returns a getter
 * for that driver (valid inside tests and hooks only).
 */
export function useDriver(fixture: ConformanceFixture): () => StorageDriver {
  let driver: StorageDriver | undefined;
  beforeAll(async () => {
    driver = await fixture.createDriver();
  });
  afterAll(async () => {
    await driver?.close();
    driver = undefined;
  });
  return () => {
    if (!driver) throw new Error(`no driver: ${fixture.name}.createDriver() failed or has not run`);
    return driver;
  };
}

/** Boolean capabilities a case can require. */
export type BooleanCapability = {
  [K in keyof DriverCapabilities]: DriverCapabilities[K] extends boolean ? K : never;
}[keyof DriverCapabilities];

/** Skips the running test, naming the capability, unless the driver has it. */
export function requireCapability(ctx: TestContext, driver: StorageDriver, capability: BooleanCapability): void {
  ctx.skip(!driver.capabilities[capability], `driver '${driver.name}' lacks capabilities.${capability}`);
}

/** Skips the running test, naming the capability, when the driver has it. */
export function requireNoCapability(ctx: TestContext, driver: StorageDriver, capability: BooleanCapability): void {
  ctx.skip(driver.capabilities[capability], `driver '${driver.name}' has capabilities.${capability}`);
}

/**
 * Asserts that `action` rejects with an FsError whose code is one of
 * `codes`. A function is called here, and a synchronous throw from a method
 * that returns a promise is a failure (callers chain `.catch`). Returns the error.
 */
export async function expectCode(action: Promise<unknown> | (() => Promise<unknown>), ...codes: FsErrorCode[]): Promise<FsError> {
  let promise: Promise<unknown>;
  if (typeof action === 'function') {
    try {
      promise = action();
    } catch (err) {
      throw new Error(`expected a rejected promise (${codes.join('|')}), but the call threw synchronously: ${String(err)}`);
    }
  } else {
    promise = action;
  }
  let outcome: { ok: true; value: unknown } | { ok: false; error: unknown };
  try {
    outcome = { ok: true, value: await promise };
  } catch (error) {
    outcome = { ok: false, error };
  }
  if (outcome.ok) {
    if (outcome.value instanceof Readable) outcome.value.destroy();
    throw new Error(`expected a rejection with ${codes.join('|')}, but it resolved`);
  }
  return checkFsError(outcome.error, codes);
}

/** Asserts that a synchronous call throws an FsError with one of `codes`. */
export function expectSyncCode(action: () => unknown, ...codes: FsErrorCode[]): FsError {
  try {
    action();
  } catch (err) {
    return checkFsError(err, codes);
  }
  throw new Error(`expected a throw with ${codes.join('|')}, but it returned`);
}

function checkFsError(err: unknown, codes: FsErrorCode[]): FsError {
  if (!(err instanceof FsError)) {
    throw new Error(`expected an FsError (${codes.join('|')}), got: ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`);
  }
  expect(codes, `FsError code (message: ${err.message})`).toContain(err.code);
  return err;
}

/** Reads a whole stream into one Buffer (for small test files only). */
export async function collect(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.from(chunk as Uint8Array));
  return Buffer.concat(chunks);
}

/** Reads a file (or a range of it) fully, checking read() gives a Readable. */
export async function readBytes(driver: StorageDriver, path: string, options?: ReadOptions): Promise<Buffer> {
  const stream = await driver.read(path, options);
  expect(stream, 'read() must resolve to a Readable').toBeInstanceOf(Readable);
  return collect(stream);
}

/** Reads a file as UTF-8 text. */
export async function readText(driver: StorageDriver, path: string): Promise<string> {
  return (await readBytes(driver, path)).toString('utf8');
}

/** Writes UTF-8 text (as bytes). */
export async function writeText(driver: StorageDriver, path: string, text: string, options?: Parameters<StorageDriver['write']>[2]): Promise<void> {
  await driver.write(path, Buffer.from(text, 'utf8'), options);
}

/** Deterministic pseudo-random bytes from a seed (same seed, same bytes). */
export function seededBytes(size: number, seed: number): Buffer {
  const out = Buffer.alloc(size);
  let state = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    state ^= state << 13;
    state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    out[i] = state & 0xff;
  }
  return out;
}

/** A Readable that yields `chunks` one by one (a byte stream, not object mode). */
export function streamOf(...chunks: Buffer[]): Readable {
  return Readable.from(chunks, { objectMode: false });
}

/** Every entry of a listing, following cursors (fails on a cursor loop). */
export async function listAll(
  driver: StorageDriver,
  dir: string,
  options: { recursive: boolean; pageSize?: number },
): Promise<{ entries: FileStat[]; pages: number }> {
  const entries: FileStat[] = [];
  const seenCursors = new Set<string>();
  let cursor: string | undefined;
  let pages = 0;
  do {
    const page = await driver.list(dir, { recursive: options.recursive, pageSize: options.pageSize, cursor });
    pages++;
    if (options.pageSize !== undefined) expect(page.entries.length).toBeLessThanOrEqual(options.pageSize);
    entries.push(...page.entries);
    cursor = page.cursor;
    if (cursor !== undefined) {
      expect(seenCursors.has(cursor), `cursor '${cursor}' repeated: the listing loops`).toBe(false);
      seenCursors.add(cursor);
    }
    expect(pages, 'too many pages').toBeLessThan(10_000);
  } while (cursor !== undefined);
  return { entries, pages };
}

/** Paths of entries, sorted, as "type:path" strings for exact comparisons. */
export function describeEntries(entries: FileStat[]): string[] {
  return entries.map((e) => `${e.type}:${e.path}`).sort();
}

/** sha256 hex of bytes. */
export function sha256Hex(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Runs `tasks` with at most `limit` in flight. */
export async function runLimited<T>(items: readonly T[], limit: number, task: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const index = next++;
      await task(items[index] as T, index);
    }
  });
  await Promise.all(workers);
}

/** Rejects when `promise` has not settled within `ms` (so a hanging driver fails, not stalls). */
export async function within<T>(promise: Promise<T>, ms: number, label: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${label}: no answer within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Sleeps `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A short random tag so names differ between runs. */
export function uniqueTag(): string {
  return randomBytes(4).toString('hex');
}

/** A body stream that yields `first`, then fails with an Error (not an FsError) on the next read. */
export function failingStream(first: Buffer): Readable {
  let sent = false;
  return new Readable({
    read() {
      if (!sent) {
        sent = true;
        this.push(first);
      } else {
        this.destroy(new Error('the body stream broke midway'));
      }
    },
  });
}
