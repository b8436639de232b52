import { createHash } from 'node:crypto';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { FsError } from '../../src/core/errors.js';
import { MemoryDriver } from '../../src/drivers/memory/index.js';
import { createEncryptedDriver, type EncryptedOptions } from '../../src/storage/decorators/encrypted/index.js';
import { ciphertextSize, HEADER_BYTES, sealedChunkBytes, TRAILER_BYTES } from '../../src/storage/decorators/encrypted/format.js';
import { describeConformance } from '../conformance/index.js';
import { expectCode, expectSyncCode, listAll, readBytes, seededBytes, sleep } from '../conformance/support.js';
import {
  encryptedOnMemory,
  flipped,
  K1,
  K2,
  outcomeCode,
  putRaw,
  rawBytes,
  readOutcome,
  recordReads,
  splitStored,
  storedChunkAt,
  wrapEncrypted,
} from './support/encrypted-fixtures.js';
import { stackedFixture } from './support/decorator-fixtures.js';

// The conformance suite on encrypted(memory) and encrypted(local); encrypted(s3) runs in encrypted-s3.test.ts.
describeConformance(stackedFixture('memory', 'encrypted', wrapEncrypted));
describeConformance(stackedFixture('local', 'encrypted', wrapEncrypted));

/** The chunk size of the dedicated tests: small, so a few KiB make several chunks. */
const C = 1024;
/** A 5-chunk plaintext whose last chunk is partial. */
const FIVE_CHUNKS = seededBytes(4 * C + 300, 5);

describe('encrypted: options and capabilities', () => {
  it('rejects keys that are not 32 bytes, a keyId not among the keys, bad key ids and bad chunk sizes with EINVAL', () => {
    const inner = new MemoryDriver();
    const bad: EncryptedOptions[] = [
      { keys: { k1: K1.subarray(0, 16) }, keyId: 'k1' },
      { keys: { k1: Buffer.concat([K1, Buffer.alloc(1)]) }, keyId: 'k1' },
      { keys: { k1: 'not bytes' as unknown as Uint8Array }, keyId: 'k1' },
      { keys: { k1: K1 }, keyId: 'k2' },
      { keys: {}, keyId: 'k1' },
      { keys: { '': K1 }, keyId: '' },
      { keys: { ['x'.repeat(65)]: K1 }, keyId: 'x'.repeat(65) },
      ...[0, 1023, 16 * 1024 * 1024 + 1, 1500.5, Number.NaN].map((chunkSize) => ({ keys: { k1: K1 }, keyId: 'k1', chunkSize })),
    ];
    for (const options of bad) expectSyncCode(() => createEncryptedDriver(inner, options), 'EINVAL');
  });

  it('names itself after its inner driver and reports honest capabilities', () => {
    const { outer, inner } = encryptedOnMemory();
    expect(outer.name).toBe('encrypted(memory)');
    expect(outer.capabilities).toMatchObject({ publicUrl: false, temporaryUrl: false, temporaryUploadUrl: false, nativeChecksum: null });
    expect(outer.capabilities.serverSideCopy).toBe(inner.capabilities.serverSideCopy);
    expect(outer.capabilities.limits).toEqual(inner.capabilities.limits);
  });

  it('has no URLs (they would serve ciphertext): ENOTSUP, and EINVAL for a bad path first', async () => {
    const { outer } = encryptedOnMemory();
    expectSyncCode(() => outer.url('a.txt'), 'ENOTSUP');
    expectSyncCode(() => outer.url('../a.txt'), 'EINVAL');
    await expectCode(() => outer.temporaryUrl('a.txt', { expiresIn: 60 }), 'ENOTSUP');
    await expectCode(() => outer.temporaryUploadUrl('a.txt', { expiresIn: 60 }), 'ENOTSUP');
  });

  it('keeps its own copy of the keys', async () => {
    const key = Buffer.from(K1);
    const outer = createEncryptedDriver(new MemoryDriver(), { keys: { k1: key }, keyId: 'k1', chunkSize: C });
    await outer.write('a.bin', FIVE_CHUNKS);
    key.fill(0);
    expect((await readBytes(outer, 'a.bin')).equals(FIVE_CHUNKS)).toBe(true);
  });
});

describe('encrypted: stored format and sizes', () => {
  const sizes = [0, 1, C - 1, C, C + 1, 2 * C, 3 * C + 5];

  it('round-trips empty, one-chunk, chunk+1 and multi-chunk files; stat and list report plaintext sizes', async () => {
    const { outer, inner } = encryptedOnMemory({ chunkSize: C });
    for (const size of sizes) {
      const plaintext = seededBytes(size, size + 1);
      expect((await outer.write(`sizes/${size}.bin`, plaintext)).size).toBe(size);
      expect((await readBytes(outer, `sizes/${size}.bin`)).equals(plaintext), `size ${size}`).toBe(true);
      expect((await outer.stat(`sizes/${size}.bin`)).size).toBe(size);
      expect((await inner.stat(`sizes/${size}.bin`)).size).toBe(ciphertextSize(size, C));
      expect(await outer.checksum(`sizes/${size}.bin`)).toEqual({ algorithm: 'sha256', hex: createHash('sha256').update(plaintext).digest('hex') });
    }
    const { entries } = await listAll(outer, 'sizes', { recursive: false });
    expect(entries.map((e) => [e.path, e.size]).sort()).toEqual(sizes.map((s) => [`sizes/${s}.bin`, s]).sort());
  });

  it('an empty file is one sealed chunk: header, 16-byte tag, trailer', async () => {
    const { outer, inner } = encryptedOnMemory({ chunkSize: C });
    await outer.write('empty.bin', Buffer.alloc(0));
    expect((await rawBytes(inner, 'empty.bin')).length).toBe(HEADER_BYTES + 16 + TRAILER_BYTES);
    expect((await readBytes(outer, 'empty.bin', { range: { offset: 0, length: 10 } })).length).toBe(0);
  });

  it('stores no plaintext, and each write of the same bytes gives different ciphertext (fresh data key)', async () => {
    const { outer, inner } = encryptedOnMemory({ chunkSize: C });
    const plaintext = Buffer.from('attack at dawn; '.repeat(200));
    await outer.write('one.txt', plaintext);
    await outer.write('two.txt', plaintext);
    const one = await rawBytes(inner, 'one.txt');
    const two = await rawBytes(inner, 'two.txt');
    expect(one.subarray(0, 4).toString('latin1')).toBe('SDEC');
    expect(one.includes(Buffer.from('attack at dawn'))).toBe(false);
    const [a, b] = [splitStored(one, C), splitStored(two, C)];
    expect(a.chunks.length).toBe(4);
    a.chunks.forEach((chunk, i) => expect(chunk.equals(b.chunks[i] as Buffer), `chunk ${i}`).toBe(false));
  });

  it('ranged reads across chunk boundaries return exactly the plaintext range', async () => {
    const { outer } = encryptedOnMemory({ chunkSize: C });
    await outer.write('ranges.bin', FIVE_CHUNKS);
    const size = FIVE_CHUNKS.length;
    const offsets = [0, 1, C - 1, C, C + 1, 2 * C - 1, 3 * C, 4 * C - 1, 4 * C, size - 1, size, size + 1, 9 * C];
    for (const offset of offsets) {
      for (const length of [undefined, 1, 2, C - 1, C, C + 1, 2 * C + 3, 10 * C]) {
        const range = length === undefined ? { offset } : { offset, length };
        const got = await readBytes(outer, 'ranges.bin', { range });
        const expected = FIVE_CHUNKS.subarray(Math.min(offset, size), length === undefined ? size : Math.min(size, offset + length));
        expect(got.equals(expected), JSON.stringify(range)).toBe(true);
      }
    }
  });

  it('a ranged read fetches the header and only the chunks that cover the range', async () => {
    const recorded = recordReads(new MemoryDriver());
    const { outer } = encryptedOnMemory({ chunkSize: C }, recorded.driver);
    await outer.write('ten.bin', seededBytes(10 * C, 10));
    expect((await readBytes(outer, 'ten.bin', { range: { offset: 5 * C + 10, length: C } })).equals(seededBytes(10 * C, 10).subarray(5 * C + 10, 6 * C + 10))).toBe(true);
    expect(recorded.ranges).toEqual([
      { offset: 0, length: HEADER_BYTES },
      { offset: storedChunkAt(5, C), length: 2 * sealedChunkBytes(C) + TRAILER_BYTES },
    ]);
    recorded.ranges.length = 0;
    await readBytes(outer, 'ten.bin', { range: { offset: 10, length: 100 } });
    expect(recorded.ranges, 'a range in chunk 0 is one request').toEqual([{ offset: 0, length: HEADER_BYTES + sealedChunkBytes(C) + TRAILER_BYTES }]);
  });

  it('an object written with another chunk size reads back exactly, whole and ranged (the header decides)', async () => {
    const inner = new MemoryDriver();
    const writer = encryptedOnMemory({ chunkSize: 4 * C }, inner).outer;
    const reader = encryptedOnMemory({ chunkSize: C }, inner).outer;
    const plaintext = seededBytes(10 * C + 7, 3);
    await writer.write('other.bin', plaintext);
    expect((await readBytes(reader, 'other.bin')).equals(plaintext)).toBe(true);
    for (const range of [{ offset: 100, length: 5 * C }, { offset: 4 * C - 1, length: 2 }, { offset: 9 * C }]) {
      const end = range.length === undefined ? undefined : range.offset + range.length;
      expect((await readBytes(reader, 'other.bin', { range })).equals(plaintext.subarray(range.offset, end)), JSON.stringify(range)).toBe(true);
    }
  });
});

describe('encrypted: tampering, truncation and reordering are EBADMSG', () => {
  async function sealed(plaintext = FIVE_CHUNKS) {
    const pair = encryptedOnMemory({ chunkSize: C });
    await pair.outer.write('t.bin', plaintext);
    return { ...pair, stored: await rawBytes(pair.inner, 't.bin') };
  }

  it('every flipped header byte fails whole and ranged reads with EBADMSG', async () => {
    const { inner, outer, stored } = await sealed();
    for (let at = 0; at < HEADER_BYTES; at++) {
      await putRaw(inner, 't.bin', flipped(stored, at));
      expect(outcomeCode(await readOutcome(outer, 't.bin')), `header byte ${at}`).toBe('EBADMSG');
      expect(outcomeCode(await readOutcome(outer, 't.bin', { range: { offset: 3 * C, length: 10 } })), `header byte ${at}, ranged`).toBe('EBADMSG');
    }
  });

  it('a flipped byte in a middle chunk fails before any of that chunk is delivered; other chunks still read', async () => {
    const { inner, outer, stored } = await sealed();
    await putRaw(inner, 't.bin', flipped(stored, storedChunkAt(2, C) + 500));
    const whole = await readOutcome(outer, 't.bin');
    expect(outcomeCode(whole)).toBe('EBADMSG');
    expect(whole.delivered.length).toBeLessThanOrEqual(2 * C);
    expect(whole.delivered.equals(FIVE_CHUNKS.subarray(0, whole.delivered.length)), 'only authentic bytes were delivered').toBe(true);
    expect(outcomeCode(await readOutcome(outer, 't.bin', { range: { offset: 2 * C + 1000, length: 1 } }))).toBe('EBADMSG');
    await expectCode(outer.checksum('t.bin'), 'EBADMSG');
    const independent = await readBytes(outer, 't.bin', { range: { offset: 3 * C, length: C } });
    expect(independent.equals(FIVE_CHUNKS.subarray(3 * C, 4 * C))).toBe(true);
  });

  it('a flipped byte in the last tag or in the trailer is EBADMSG', async () => {
    const { inner, outer, stored } = await sealed();
    for (const at of [stored.length - TRAILER_BYTES - 1, stored.length - TRAILER_BYTES - 16, stored.length - 1]) {
      await putRaw(inner, 't.bin', flipped(stored, at));
      expect(outcomeCode(await readOutcome(outer, 't.bin')), `byte ${at}`).toBe('EBADMSG');
      expect(outcomeCode(await readOutcome(outer, 't.bin', { range: { offset: 4 * C, length: 10 } })), `byte ${at}, ranged`).toBe('EBADMSG');
    }
  });

  it('a truncated object is EBADMSG: at a chunk boundary, mid-chunk, without its trailer, inside the header, empty', async () => {
    const { inner, outer, stored } = await sealed();
    const cuts = [storedChunkAt(4, C), storedChunkAt(2, C), storedChunkAt(2, C) + 300, stored.length - TRAILER_BYTES, stored.length - 1, stored.length - TRAILER_BYTES - 5, HEADER_BYTES, 40, 0];
    for (const cut of cuts) {
      await putRaw(inner, 't.bin', stored.subarray(0, cut));
      const outcome = await readOutcome(outer, 't.bin');
      expect(outcomeCode(outcome), `cut at ${cut}`).toBe('EBADMSG');
      expect(FIVE_CHUNKS.subarray(0, outcome.delivered.length).equals(outcome.delivered)).toBe(true);
      await outer.stat('t.bin'); // stat still answers (a size estimate); reads are what detect it
    }
    await putRaw(inner, 't.bin', stored.subarray(0, storedChunkAt(3, C)));
    expect(outcomeCode(await readOutcome(outer, 't.bin', { range: { offset: 2 * C, length: 2 * C } })), 'a range that reaches the cut').toBe('EBADMSG');
  });

  it('reordered, duplicated, dropped, appended or spliced chunks are EBADMSG', async () => {
    const { inner, outer, stored } = await sealed();
    const { header, chunks, trailer } = splitStored(stored, C);
    const [c0, c1, c2, c3, c4] = chunks as [Buffer, Buffer, Buffer, Buffer, Buffer];
    const other = encryptedOnMemory({ chunkSize: C }, inner).outer; // same key, another object
    await other.write('other.bin', FIVE_CHUNKS);
    const foreign = splitStored(await rawBytes(inner, 'other.bin'), C);
    const variants: Record<string, Buffer[]> = {
      'swap 1 and 2': [header, c0, c2, c1, c3, c4, trailer],
      'duplicate 1': [header, c0, c1, c1, c2, c3, c4, trailer],
      'drop 1': [header, c0, c2, c3, c4, trailer],
      'drop the last': [header, c0, c1, c2, c3, trailer],
      'garbage after the trailer': [header, c0, c1, c2, c3, c4, trailer, Buffer.from('more')],
      'chunk 1 of another object': [header, c0, foreign.chunks[1] as Buffer, c2, c3, c4, trailer],
      'the header of another object': [foreign.header, c0, c1, c2, c3, c4, trailer],
    };
    for (const [label, parts] of Object.entries(variants)) {
      await putRaw(inner, 't.bin', Buffer.concat(parts));
      expect(outcomeCode(await readOutcome(outer, 't.bin')), label).toBe('EBADMSG');
    }
  });

  it('the messages say what happened: truncated, or failed authentication', async () => {
    const { inner, outer, stored } = await sealed();
    await putRaw(inner, 't.bin', stored.subarray(0, storedChunkAt(2, C) + 300));
    expect(((await readOutcome(outer, 't.bin')).error as FsError).message).toMatch(/truncated/);
    await putRaw(inner, 't.bin', flipped(stored, storedChunkAt(1, C)));
    expect(((await readOutcome(outer, 't.bin')).error as FsError).message).toMatch(/failed authentication at chunk 1/);
  });
});

describe('encrypted: keys', () => {
  it('a wrong key under the same id, or an unknown key id, is EACCES naming the key id', async () => {
    const inner = new MemoryDriver();
    await encryptedOnMemory({ chunkSize: C }, inner).outer.write('k.bin', FIVE_CHUNKS);
    const wrongKey = encryptedOnMemory({ keys: { k1: K2 }, keyId: 'k1', chunkSize: C }, inner).outer;
    const unknownId = encryptedOnMemory({ keys: { k2: K1 }, keyId: 'k2', chunkSize: C }, inner).outer;
    for (const driver of [wrongKey, unknownId]) {
      const err = await expectCode(driver.read('k.bin'), 'EACCES');
      expect(err.message).toContain("'k1'");
      await expectCode(driver.read('k.bin', { range: { offset: 3 * C, length: 5 } }), 'EACCES');
      await expectCode(driver.read('k.bin', { range: { offset: 0, length: 0 } }), 'EACCES');
      await expectCode(driver.checksum('k.bin'), 'EACCES');
      expect((await driver.stat('k.bin')).size).toBe(FIVE_CHUNKS.length);
    }
  });

  it('after a rotation old objects read with the old key, new ones seal with the new key; without the old key, old objects are EACCES', async () => {
    const inner = new MemoryDriver();
    await encryptedOnMemory({ chunkSize: C }, inner).outer.write('old.bin', FIVE_CHUNKS);
    const rotated = encryptedOnMemory({ keys: { k1: K1, k2: K2 }, keyId: 'k2', chunkSize: C }, inner).outer;
    expect((await readBytes(rotated, 'old.bin')).equals(FIVE_CHUNKS)).toBe(true);
    expect((await readBytes(rotated, 'old.bin', { range: { offset: 2 * C - 3, length: 6 } })).equals(FIVE_CHUNKS.subarray(2 * C - 3, 2 * C + 3))).toBe(true);
    await rotated.write('new.bin', Buffer.from('sealed with k2'));
    await rotated.copy('old.bin', 'old-copy.bin'); // a ciphertext copy: still sealed with k1
    const onlyNew = encryptedOnMemory({ keys: { k2: K2 }, keyId: 'k2' }, inner).outer;
    expect((await readBytes(onlyNew, 'new.bin')).toString()).toBe('sealed with k2');
    await expectCode(onlyNew.read('old.bin'), 'EACCES');
    await expectCode(onlyNew.read('old-copy.bin'), 'EACCES');
    expect((await readBytes(rotated, 'old-copy.bin')).equals(FIVE_CHUNKS)).toBe(true);
  });
});

describe('encrypted: streaming', () => {
  it('write seals the body as it arrives, before the body ends', async () => {
    const { outer, inner } = encryptedOnMemory({ chunkSize: C });
    const body = new PassThrough({ highWaterMark: 1024 });
    const done = outer.write('incremental.bin', body);
    body.write(seededBytes(256 * 1024, 1));
    for (let waited = 0; body.readableLength > 0 && waited < 2000; waited += 10) await sleep(10);
    expect(body.readableLength, 'the driver left the body unread').toBe(0);
    await expectCode(inner.stat('incremental.bin'), 'ENOENT');
    body.end(seededBytes(10, 2));
    expect((await done).size).toBe(256 * 1024 + 10);
    expect((await outer.stat('incremental.bin')).size).toBe(256 * 1024 + 10);
  });

  it('a write whose body fails midway rejects with an FsError and stores nothing', async () => {
    const { outer, inner } = encryptedOnMemory({ chunkSize: C });
    const body = new PassThrough();
    const done = outer.write('broken.bin', body);
    body.write(seededBytes(10 * C, 1));
    body.destroy(new Error('the body broke'));
    await expect(done).rejects.toBeInstanceOf(FsError);
    await expectCode(inner.stat('broken.bin'), 'ENOENT');
  });

  it('an aborted read is ECANCELED', async () => {
    const { outer } = encryptedOnMemory({ chunkSize: C });
    await outer.write('a.bin', FIVE_CHUNKS);
    await expectCode(outer.read('a.bin', { signal: AbortSignal.abort() }), 'ECANCELED');
    await expectCode(outer.read('a.bin', { signal: AbortSignal.abort(), range: { offset: 3 * C } }), 'ECANCELED');
  });

  it('a missing file or a directory rejects read() itself: ENOENT, EISDIR', async () => {
    const { outer } = encryptedOnMemory({ chunkSize: C });
    await outer.write('dir/a.bin', FIVE_CHUNKS);
    await expectCode(outer.read('missing.bin'), 'ENOENT');
    await expectCode(outer.read('missing.bin', { range: { offset: 5 * C, length: 1 } }), 'ENOENT');
    await expectCode(outer.read('dir'), 'EISDIR');
  });
});
