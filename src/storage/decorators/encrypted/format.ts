/**
 * The on-disk format of an encrypted object (format version 1).
 *
 *   object  = header (156 bytes) || chunk 0 || chunk 1 || ... || chunk n-1 || trailer (8 bytes)
 *   header  = magic "SDEC" (4) || version 0x01 (1) || key id length (1) || reserved 0x0000 (2)
 *             || plaintext chunk size, uint32 BE (4) || key id, UTF-8, zero-padded (64)
 *             || salt (32 random bytes) || key check (16) || digest (32)
 *   chunk i = AES-256-GCM ciphertext of plaintext bytes [i*C, i*C + len) || 16-byte tag
 *   trailer = "SDEC-END" (a constant end marker)
 *
 * Keys. The header names the master key (`key id`) the object was sealed
 * with, so rotated keys still open old objects. Each object gets its own data
 * key: HKDF-SHA256(master key, salt, "storaged-encrypted/v1") yields 44 bytes,
 * a 32-byte AES key and a 12-byte base nonce. The salt is 32 fresh random
 * bytes per write, so no two objects (nor two writes of one path) share a data
 * key, and a (key, nonce) pair is never reused: chunk i's nonce is the base
 * nonce XOR i (as a 96-bit big-endian integer), unique within the object.
 * Copies keep the ciphertext byte for byte, which reuses nothing new.
 *
 * Binding. Every chunk's AAD is digest || uint64 BE index || final flag (1
 * for the last chunk, else 0). The digest is SHA-256 of the header bytes before
 * it, so a chunk authenticates only in its own object, at its own index, with
 * its own finality: reordered, duplicated, dropped, spliced or truncated chunks
 * fail. The key check is HMAC-SHA256(master key, "storaged-encrypted/v1 key
 * check") cut to 16 bytes: it tells a wrong key (EACCES, naming the key id)
 * from a tampered object (EBADMSG). The digest makes a damaged header EBADMSG
 * before any key is looked up; an attacker who rewrites header and digest
 * together still cannot make anything decrypt (the salt and the digest feed the
 * key and the AAD).
 *
 * Chunks. All chunks but the last hold exactly C plaintext bytes; the last
 * holds 1..C bytes, or 0 when the whole object is empty (an empty object is
 * still one sealed chunk, so an empty file cannot be forged by truncation).
 * The trailer tells a cut-off object ("truncated") from a damaged last chunk
 * ("failed authentication"); both are EBADMSG.
 *
 * Sizes. The header and trailer are fixed-length, so the plaintext size follows
 * from the ciphertext size alone once C is known (plaintextSize below). C is
 * stored in each header and reads always use the header's C; listings and
 * stat, which see only the ciphertext size, use the disk's configured chunk
 * size. A disk must therefore keep one chunk size for its lifetime (as it keeps
 * its format): objects written with another one still read back exactly, but
 * stat/list would report their size off by 16 bytes per chunk of difference.
 */

import { createHash } from 'node:crypto';
import { FsError } from '../../../core/errors.js';

/** First bytes of every encrypted object. */
export const MAGIC = Buffer.from('SDEC', 'latin1');
/** The format version this code writes and reads. */
export const FORMAT_VERSION = 1;
/** Longest key id, in UTF-8 bytes (the header's fixed key id field). */
export const MAX_KEY_ID_BYTES = 64;
/** Bytes of the per-object random salt. */
export const SALT_BYTES = 32;
/** Bytes of the key check value. */
export const KEY_CHECK_BYTES = 16;
/** Bytes of the header digest (SHA-256). */
export const DIGEST_BYTES = 32;
/** Bytes of a GCM authentication tag. */
export const TAG_BYTES = 16;
/** The end marker after the last chunk. */
export const TRAILER = Buffer.from('SDEC-END', 'latin1');
/** Bytes of the end marker. */
export const TRAILER_BYTES = TRAILER.length;

const VERSION_AT = 4;
const KEY_ID_LENGTH_AT = 5;
const RESERVED_AT = 6;
const CHUNK_SIZE_AT = 8;
const KEY_ID_AT = 12;
const SALT_AT = KEY_ID_AT + MAX_KEY_ID_BYTES;
const KEY_CHECK_AT = SALT_AT + SALT_BYTES;
const DIGEST_AT = KEY_CHECK_AT + KEY_CHECK_BYTES;
/** Fixed size of every header, in bytes. */
export const HEADER_BYTES = DIGEST_AT + DIGEST_BYTES;

/** Smallest plaintext chunk size accepted. */
export const MIN_CHUNK_SIZE = 1024;
/** Largest plaintext chunk size accepted (16 MiB). */
export const MAX_CHUNK_SIZE = 16 * 1024 * 1024;
/** Plaintext chunk size when none is configured (64 KiB). */
export const DEFAULT_CHUNK_SIZE = 64 * 1024;

/** The fields of a header. */
export interface HeaderFields {
  keyId: string;
  chunkSize: number;
  salt: Buffer;
  keyCheck: Buffer;
}

/** A parsed, self-consistent header, with its raw digest (the chunks' AAD prefix). */
export interface Header extends HeaderFields {
  digest: Buffer;
}

/** Encodes a header: the caller validated the key id and chunk size. */
export function encodeHeader(fields: HeaderFields): Header & { bytes: Buffer } {
  const bytes = Buffer.alloc(HEADER_BYTES);
  MAGIC.copy(bytes, 0);
  bytes[VERSION_AT] = FORMAT_VERSION;
  const keyId = Buffer.from(fields.keyId, 'utf8');
  bytes[KEY_ID_LENGTH_AT] = keyId.length;
  bytes.writeUInt32BE(fields.chunkSize, CHUNK_SIZE_AT);
  keyId.copy(bytes, KEY_ID_AT);
  fields.salt.copy(bytes, SALT_AT);
  fields.keyCheck.copy(bytes, KEY_CHECK_AT);
  const digest = headerDigest(bytes);
  digest.copy(bytes, DIGEST_AT);
  return { ...fields, digest, bytes };
}

/**
 * Parses and checks a header: EBADMSG naming `path` when the bytes are not
 * an intact version-1 header (too short, wrong magic, unknown version, digest
 * mismatch, fields out of range). Says nothing about keys.
 */
export function decodeHeader(bytes: Buffer, path: string): Header {
  if (bytes.length < HEADER_BYTES) {
    throw integrityError(path, `is truncated: ${bytes.length} bytes, shorter than the ${HEADER_BYTES}-byte encryption header`);
  }
  if (!bytes.subarray(0, MAGIC.length).equals(MAGIC)) {
    throw integrityError(path, 'is not an encrypted object (its header does not start with the magic bytes): damaged or written without encryption');
  }
  const version = bytes[VERSION_AT];
  if (version !== FORMAT_VERSION) {
    throw integrityError(path, `has encryption format version ${String(version)}, this code reads version ${FORMAT_VERSION}: damaged or written by a newer storaged`);
  }
  const digest = bytes.subarray(DIGEST_AT, HEADER_BYTES);
  if (!headerDigest(bytes).equals(digest)) throw integrityError(path, 'has a damaged encryption header (its digest does not match)');
  const keyIdLength = bytes[KEY_ID_LENGTH_AT] ?? 0;
  const chunkSize = bytes.readUInt32BE(CHUNK_SIZE_AT);
  const padding = bytes.subarray(KEY_ID_AT + keyIdLength, SALT_AT);
  const wellFormed =
    bytes.readUInt16BE(RESERVED_AT) === 0 &&
    keyIdLength >= 1 &&
    keyIdLength <= MAX_KEY_ID_BYTES &&
    padding.every((byte) => byte === 0) &&
    chunkSize >= MIN_CHUNK_SIZE &&
    chunkSize <= MAX_CHUNK_SIZE;
  if (!wellFormed) throw integrityError(path, 'has a malformed encryption header (fields out of range)');
  return {
    keyId: bytes.toString('utf8', KEY_ID_AT, KEY_ID_AT + keyIdLength),
    chunkSize,
    salt: Buffer.from(bytes.subarray(SALT_AT, KEY_CHECK_AT)),
    keyCheck: Buffer.from(bytes.subarray(KEY_CHECK_AT, DIGEST_AT)),
    digest: Buffer.from(digest),
  };
}

/** Bytes a sealed chunk takes (plaintext + tag) when full. */
export function sealedChunkBytes(chunkSize: number): number {
  return chunkSize + TAG_BYTES;
}

/** Number of chunks an object of `plaintext` bytes has (an empty object has one). */
export function chunkCount(plaintext: number, chunkSize: number): number {
  return Math.max(1, Math.ceil(plaintext / chunkSize));
}

/** Stored size of an object of `plaintext` bytes. */
export function ciphertextSize(plaintext: number, chunkSize: number): number {
  return HEADER_BYTES + plaintext + chunkCount(plaintext, chunkSize) * TAG_BYTES + TRAILER_BYTES;
}

/**
 * Plaintext size of an object stored in `stored` bytes, the inverse of
 * ciphertextSize. A size no intact object can have (a damaged or foreign
 * object) gives its best lower estimate, never below 0: reading such an
 * object fails with EBADMSG.
 */
export function plaintextSize(stored: number, chunkSize: number): number {
  const body = stored - HEADER_BYTES - TRAILER_BYTES;
  if (body <= TAG_BYTES) return 0;
  const chunks = Math.ceil(body / sealedChunkBytes(chunkSize));
  return Math.max(0, body - chunks * TAG_BYTES);
}

/** Byte offset, in the stored object, where chunk `index` begins. */
export function chunkOffset(index: number, chunkSize: number): number {
  return HEADER_BYTES + index * sealedChunkBytes(chunkSize);
}

/** The integrity error (EBADMSG) for the object at `path`. */
export function integrityError(path: string, reason: string): FsError {
  return new FsError('EBADMSG', `encrypted object '${path}' ${reason}`, { path, op: 'decrypt' });
}

function headerDigest(header: Buffer): Buffer {
  return createHash('sha256').update(header.subarray(0, DIGEST_AT)).digest();
}
