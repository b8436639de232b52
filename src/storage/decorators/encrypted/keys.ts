import { createHmac, hkdfSync, randomBytes } from 'node:crypto';
import { FsError } from '../../../core/errors.js';
import { KEY_CHECK_BYTES, MAX_KEY_ID_BYTES, SALT_BYTES, type Header } from './format.js';

/** Bytes of an AES-256 key (master keys and data keys alike). */
export const KEY_BYTES = 32;
/** Bytes of a GCM nonce. */
export const NONCE_BYTES = 12;

const KDF_INFO = Buffer.from('storaged-encrypted/v1', 'utf8');
const KEY_CHECK_LABEL = Buffer.from('storaged-encrypted/v1 key check', 'utf8');

/** One object's data key and base nonce, derived from a master key and the object's salt. */
export interface DataKey {
  key: Buffer;
  baseNonce: Buffer;
}

/** A master key with its id and key check value. */
export interface MasterKey {
  id: string;
  key: Buffer;
  check: Buffer;
}

/**
 * The master keys of an encrypted disk, by id, and the one new objects are
 * sealed with. Validates at construction: EINVAL unless every key is exactly
 * 32 bytes, every id is 1..64 UTF-8 bytes, and `sealWith` is one of the ids.
 * Keeps its own copies of the keys.
 */
export class KeyRing {
  /** The key new objects are sealed with. */
  readonly sealing: MasterKey;
  private readonly keys = new Map<string, MasterKey>();

  constructor(keys: Record<string, Uint8Array>, sealWith: string) {
    if (keys === null || typeof keys !== 'object') {
      throw configError('keys must be an object mapping key ids to 32-byte keys');
    }
    for (const [id, key] of Object.entries(keys)) {
      const idBytes = Buffer.byteLength(id, 'utf8');
      if (idBytes < 1 || idBytes > MAX_KEY_ID_BYTES) {
        throw configError(`key id '${id}' is ${idBytes} bytes; key ids must be 1..${MAX_KEY_ID_BYTES} UTF-8 bytes`);
      }
      if (!(key instanceof Uint8Array) || key.length !== KEY_BYTES) {
        const got = key instanceof Uint8Array ? `${key.length} bytes` : typeof key;
        throw configError(`key '${id}' must be exactly ${KEY_BYTES} bytes (AES-256), got ${got}`);
      }
      const copy = Buffer.from(key);
      this.keys.set(id, { id, key: copy, check: keyCheck(copy) });
    }
    const sealing = typeof sealWith === 'string' ? this.keys.get(sealWith) : undefined;
    if (sealing === undefined) {
      const known = [...this.keys.keys()].map((id) => `'${id}'`).join(', ') || 'none';
      throw configError(`keyId '${String(sealWith)}' is not among the keys (known: ${known})`);
    }
    this.sealing = sealing;
  }

  /**
   * The master key that opens an object with this header: EACCES naming the
   * key id when the ring has no key of that id, or when its key is not the one
   * the object was sealed with (the key check differs).
   */
  opening(header: Header, path: string): MasterKey {
    const master = this.keys.get(header.keyId);
    if (master === undefined) {
      throw new FsError('EACCES', `encrypted object '${path}' was sealed with key '${header.keyId}', which this disk does not have`, {
        path,
        op: 'decrypt',
      });
    }
    if (!master.check.equals(header.keyCheck)) {
      throw new FsError('EACCES', `encrypted object '${path}' was sealed with a different key named '${header.keyId}': this disk's key '${header.keyId}' does not open it`, {
        path,
        op: 'decrypt',
      });
    }
    return master;
  }
}

/** A fresh random salt for one object. */
export function newSalt(): Buffer {
  return randomBytes(SALT_BYTES);
}

/** The data key and base nonce of the object with this salt. */
export function deriveDataKey(master: MasterKey, salt: Buffer): DataKey {
  const material = Buffer.from(hkdfSync('sha256', master.key, salt, KDF_INFO, KEY_BYTES + NONCE_BYTES));
  return { key: material.subarray(0, KEY_BYTES), baseNonce: material.subarray(KEY_BYTES) };
}

/** Chunk `index`'s nonce: the base nonce XOR the index as a 96-bit big-endian integer. */
export function chunkNonce(baseNonce: Buffer, index: number): Buffer {
  const nonce = Buffer.from(baseNonce);
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(index));
  for (let i = 0; i < 8; i++) nonce[NONCE_BYTES - 8 + i] = (nonce[NONCE_BYTES - 8 + i] ?? 0) ^ (counter[i] ?? 0);
  return nonce;
}

function keyCheck(key: Buffer): Buffer {
  return createHmac('sha256', key).update(KEY_CHECK_LABEL).digest().subarray(0, KEY_CHECK_BYTES);
}

function configError(reason: string): FsError {
  return new FsError('EINVAL', `encrypted disk: ${reason}`, { op: 'config' });
}
