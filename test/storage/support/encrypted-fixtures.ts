import { randomBytes } from 'node:crypto';
import { FsError } from '../../../src/core/errors.js';
import { MemoryDriver } from '../../../src/drivers/memory/index.js';
import type { ReadOptions, StorageDriver } from '../../../src/drivers/types.js';
import { createEncryptedDriver, type EncryptedOptions } from '../../../src/storage/decorators/encrypted/index.js';
import { chunkOffset, HEADER_BYTES, sealedChunkBytes, TRAILER_BYTES } from '../../../src/storage/decorators/encrypted/format.js';
import { collect } from '../../conformance/support.js';
import type { ConformanceFixture } from '../../conformance/fixture.js';
import { stackedFixture, type Wrap } from './decorator-fixtures.js';

/** Two independent 32-byte master keys, fixed for the whole test file. */
export const K1 = randomBytes(32);
export const K2 = randomBytes(32);

/** Chunk sizes of the conformance stacks: small on memory, so the suite's ranges cross chunk boundaries; the default on local; 16 KiB on s3. */
const CHUNK_BY_BASE = { memory: 4096, local: undefined, s3: 16 * 1024 } as const;

/** The conformance wrap: an encrypted driver with a retired key and a current one. */
export const wrapEncrypted: Wrap = (inner, { base }) =>
  createEncryptedDriver(inner, { keys: { old: K2, current: K1 }, keyId: 'current', chunkSize: CHUNK_BY_BASE[base] });

/** A memory driver and an encrypted driver on it (closing `outer` closes `inner`). */
export interface EncryptedPair {
  inner: MemoryDriver;
  outer: StorageDriver;
}

/** An encrypted driver on a fresh memory driver; keys {k1: K1}, sealing with k1, unless `options` says otherwise. */
export function encryptedOnMemory(options: Partial<EncryptedOptions> = {}, inner = new MemoryDriver()): EncryptedPair {
  return { inner, outer: createEncryptedDriver(inner, { keys: { k1: K1 }, keyId: 'k1', ...options }) };
}

/** The stored (ciphertext) bytes of `path`, read through the inner driver. */
export async function rawBytes(inner: StorageDriver, path: string): Promise<Buffer> {
  return collect(await inner.read(path));
}

/** Replaces the stored bytes of `path` through the inner driver. */
export async function putRaw(inner: StorageDriver, path: string, bytes: Buffer): Promise<void> {
  await inner.write(path, bytes);
}

/** A copy of `bytes` with the byte at `at` inverted. */
export function flipped(bytes: Buffer, at: number): Buffer {
  const copy = Buffer.from(bytes);
  copy[at] = (copy[at] ?? 0) ^ 0xff;
  return copy;
}

/** The parts of a stored object: header, each sealed chunk, trailer. */
export function splitStored(stored: Buffer, chunkSize: number): { header: Buffer; chunks: Buffer[]; trailer: Buffer } {
  const body = stored.subarray(HEADER_BYTES, stored.length - TRAILER_BYTES);
  const chunks: Buffer[] = [];
  for (let at = 0; at < body.length; at += sealedChunkBytes(chunkSize)) chunks.push(body.subarray(at, at + sealedChunkBytes(chunkSize)));
  return { header: stored.subarray(0, HEADER_BYTES), chunks, trailer: stored.subarray(stored.length - TRAILER_BYTES) };
}

/** Byte offset of chunk `index` in a stored object (re-exported for tests). */
export const storedChunkAt = chunkOffset;

/** What a read delivered before it ended or failed. */
export interface ReadOutcome {
  delivered: Buffer;
  error: unknown;
}

/** Reads `path` (or a range), collecting what arrives; a rejection of read() itself or of the stream is `error`. */
export async function readOutcome(driver: StorageDriver, path: string, options?: ReadOptions): Promise<ReadOutcome> {
  const parts: Buffer[] = [];
  try {
    for await (const part of await driver.read(path, options)) parts.push(part as Buffer);
    return { delivered: Buffer.concat(parts), error: undefined };
  } catch (error) {
    return { delivered: Buffer.concat(parts), error };
  }
}

/** The FsError code of a failed read outcome, or 'ok'. */
export function outcomeCode(outcome: ReadOutcome): string {
  if (outcome.error === undefined) return 'ok';
  return outcome.error instanceof FsError ? outcome.error.code : `not an FsError: ${String(outcome.error)}`;
}

/** The inner read ranges an encrypted driver asks for, recorded by wrapping `inner`'s read. */
export function recordReads(inner: MemoryDriver): { driver: MemoryDriver; ranges: Array<ReadOptions['range']> } {
  const ranges: Array<ReadOptions['range']> = [];
  const driver = new Proxy(inner, {
    get(target, property, receiver) {
      if (property === 'read') {
        return (path: string, options?: ReadOptions) => {
          ranges.push(options?.range);
          return target.read(path, options);
        };
      }
      const value: unknown = Reflect.get(target, property, receiver);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
  return { driver, ranges };
}

/**
 * encrypted(s3) on s3rver, like decorator-fixtures' s3 stack but with one
 * upload in flight per multipart upload (upload_concurrency 1). Why: the s3
 * driver alone holds part_size × (concurrency + 2) and grows the RSS by
 * 26-31 MiB in the suite's 64 MiB round trip; encryption allocates one more
 * copy of every byte (Node's cipher API has no in-place output), which the
 * allocator returns to the system late, adding 8-10 MiB more. At the default
 * concurrency of 2 the round trip measured 37-42 MiB against the suite's
 * 40 MiB limit, at concurrency 1 it leaves the same decorator a clear margin.
 */
export function encryptedS3Fixture(): ConformanceFixture {
  return stackedFixture('s3', 'encrypted (upload_concurrency 1)', wrapEncrypted, { s3Config: { upload_concurrency: 1 } });
}
