import { createHash } from 'node:crypto';
import { expect } from 'vitest';
import type { FsUnderTest } from '../support/fs-under-test.js';
import type { Target } from '../support/target.js';

/** What every suite file gets: the live target and a fresh folder per test. */
export interface SuiteContext {
  target(): Target;
  fs(): FsUnderTest;
  /** Creates and returns a new, empty folder ('/t-<n>-<label>') for one test. */
  scratch(label: string): Promise<string>;
}

let counter = 0;

/** A SuiteContext over a target that beforeAll fills in. */
export function suiteContext(get: () => Target | undefined): SuiteContext {
  const target = () => {
    const t = get();
    if (t === undefined) throw new Error('the target did not start (see beforeAll)');
    return t;
  };
  return {
    target,
    fs: () => target().fs,
    async scratch(label) {
      const path = `/t${++counter}-${label}`;
      await target().fs.mkdir(path);
      return path;
    },
  };
}

/** Asserts that `promise` rejects with an error whose `.code` is `code`. */
export async function expectCode(promise: Promise<unknown>, code: string): Promise<void> {
  let outcome: unknown;
  try {
    await promise;
    outcome = 'resolved';
  } catch (err) {
    outcome = (err as { code?: unknown }).code ?? err;
  }
  expect(outcome, `expected ${code}`).toBe(code);
}

/** Deterministic pseudo-random bytes (xorshift), so failures reproduce. */
export function pattern(length: number, seed = 1): Buffer {
  const out = Buffer.alloc(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

/** sha256 hex of a buffer. */
export const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

/** Permission bits of a st_mode. */
export const perms = (mode: number) => mode & 0o7777;

/** Waits until `check` stops throwing (backends may lag a background release), up to timeoutMs. */
export async function eventually<T>(check: () => Promise<T>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

/** Byte-for-byte comparison with a readable failure (first differing offset, not a 1 MB diff). */
export function expectSameBytes(actual: Buffer, expected: Buffer, what: string): void {
  if (actual.equals(expected)) return;
  let at = 0;
  while (at < Math.min(actual.length, expected.length) && actual[at] === expected[at]) at++;
  expect.fail(`${what}: ${actual.length} bytes read, ${expected.length} expected; first difference at offset ${at}`);
}
