import { createCipheriv, createDecipheriv } from 'node:crypto';
import { TAG_BYTES } from './format.js';
import { chunkNonce, type DataKey } from './keys.js';

/** What a chunk is sealed with: the object's data key and its header digest. */
export interface ChunkContext {
  dataKey: DataKey;
  /** The header digest: binds every chunk to its object's header. */
  digest: Buffer;
}

/**
 * Seals one chunk's plaintext, given as consecutive parts: returns the parts
 * of ciphertext || 16-byte tag, in order (never concatenated: no copies).
 */
export function sealChunk(context: ChunkContext, index: number, final: boolean, plaintext: readonly Buffer[]): Buffer[] {
  const cipher = createCipheriv('aes-256-gcm', context.dataKey.key, chunkNonce(context.dataKey.baseNonce, index), { authTagLength: TAG_BYTES });
  cipher.setAAD(chunkAad(context.digest, index, final));
  const out = plaintext.map((part) => cipher.update(part));
  const tail = cipher.final(); // empty for GCM, kept for form
  if (tail.length > 0) out.push(tail);
  out.push(cipher.getAuthTag());
  return out;
}

/**
 * Opens one sealed chunk (ciphertext || tag, given as consecutive parts) as
 * chunk `index` with the given finality. Returns the plaintext parts only once
 * the tag verified, or null when it does not authenticate: never partial or
 * unauthenticated plaintext.
 */
export function openChunk(context: ChunkContext, index: number, final: boolean, sealed: readonly Buffer[]): Buffer[] | null {
  const split = splitTag(sealed);
  if (split === null) return null;
  const decipher = createDecipheriv('aes-256-gcm', context.dataKey.key, chunkNonce(context.dataKey.baseNonce, index), { authTagLength: TAG_BYTES });
  decipher.setAAD(chunkAad(context.digest, index, final));
  decipher.setAuthTag(split.tag);
  const out = split.body.map((part) => decipher.update(part));
  try {
    const tail = decipher.final();
    if (tail.length > 0) out.push(tail);
    return out;
  } catch {
    for (const part of out) part.fill(0); // unauthenticated plaintext never leaves this function
    return null;
  }
}

/** The ciphertext parts and the 16-byte tag at their end (null when shorter than a tag). */
function splitTag(sealed: readonly Buffer[]): { body: Buffer[]; tag: Buffer } | null {
  const total = sealed.reduce((sum, part) => sum + part.length, 0);
  if (total < TAG_BYTES) return null;
  const body: Buffer[] = [];
  const tag: Buffer[] = [];
  let bodyLeft = total - TAG_BYTES;
  for (const part of sealed) {
    const inBody = Math.min(part.length, bodyLeft);
    if (inBody > 0) body.push(part.subarray(0, inBody));
    if (inBody < part.length) tag.push(part.subarray(inBody));
    bodyLeft -= inBody;
  }
  return { body, tag: tag.length === 1 ? (tag[0] as Buffer) : Buffer.concat(tag) };
}

/** AAD of chunk `index`: header digest || uint64 BE index || final flag. */
function chunkAad(digest: Buffer, index: number, final: boolean): Buffer {
  const aad = Buffer.alloc(digest.length + 9);
  digest.copy(aad, 0);
  aad.writeBigUInt64BE(BigInt(index), digest.length);
  aad[digest.length + 8] = final ? 1 : 0;
  return aad;
}
