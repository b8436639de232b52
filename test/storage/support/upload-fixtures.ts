import { readdir } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { expect } from 'vitest';
import type { FsErrorCode } from '../../../src/core/errors.js';
import { UploadRejectedError, type UploadRejectionRule } from '../../../src/storage/upload/index.js';
import type { Disk } from '../../../src/storage/disk.js';

/** A stream of `total` bytes made chunk by chunk on demand; `pulled()` says how many the consumer asked for so far. */
export function lazyStream(total: number, chunkBytes = 64 * 1024, fill = 0x61): { stream: Readable; pulled: () => number } {
  let pulled = 0;
  async function* chunks(): AsyncGenerator<Buffer> {
    while (pulled < total) {
      const size = Math.min(chunkBytes, total - pulled);
      pulled += size;
      yield Buffer.alloc(size, fill);
    }
  }
  return { stream: Readable.from(chunks(), { objectMode: false }), pulled: () => pulled };
}

/** Resolves the UploadRejectedError of `promise`, checking its code and rule; fails if it resolves or fails otherwise. */
export async function expectRejected(promise: Promise<unknown>, code: FsErrorCode, rule: UploadRejectionRule): Promise<UploadRejectedError> {
  const outcome = await promise.then(
    (value) => ({ resolved: value }),
    (err: unknown) => ({ err }),
  );
  if (!('err' in outcome)) throw new Error(`expected an UploadRejectedError ${code}/${rule}, but the upload resolved ${JSON.stringify(outcome.resolved)}`);
  const err = outcome.err;
  if (!(err instanceof UploadRejectedError)) throw new Error(`expected an UploadRejectedError ${code}/${rule}, got ${String(err)}`);
  expect({ code: err.code, rule: err.rule }).toEqual({ code, rule });
  expect(err.reason.length).toBeGreaterThan(0);
  return err;
}

/** Every file on the disk (recursive), sorted. */
export async function storedFiles(disk: Disk): Promise<string[]> {
  return (await disk.allFiles()).sort();
}

/** The entries left in a local folder (the upload handler's tempDir must end empty). */
export async function leftIn(dir: string): Promise<string[]> {
  return readdir(dir);
}

/** A one-page PDF, small but real enough for file-type. */
export function tinyPdf(): Buffer {
  return Buffer.from('%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n', 'latin1');
}
