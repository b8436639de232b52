import { createHash } from 'node:crypto';

/**
 * The file format of one folder-store entry:
 *
 *   magic 'SDCACHE1' (8) | expiresAt ms, float64 BE (8) | key bytes, uint32 BE (4)
 *   | value bytes, uint32 BE (4) | digest (16) | key (UTF-8) | value
 *
 * The digest is the first 16 bytes of sha256(header fields + key + value), so
 * a truncated, torn or bit-flipped file decodes as corrupt, never as a value.
 */
const MAGIC = Buffer.from('SDCACHE1', 'latin1');
const HEADER_BYTES = MAGIC.length + 8 + 4 + 4 + 16;

/** A decoded entry file. */
export interface FolderEntry {
  key: string;
  value: Buffer;
  expiresAt: number;
}

/** The bytes of an entry file for `key`/`value`, expiring at `expiresAt` (epoch ms). */
export function encodeFolderEntry(entry: FolderEntry): Buffer {
  const key = Buffer.from(entry.key, 'utf8');
  const fields = Buffer.alloc(16);
  fields.writeDoubleBE(entry.expiresAt, 0);
  fields.writeUInt32BE(key.length, 8);
  fields.writeUInt32BE(entry.value.length, 12);
  return Buffer.concat([MAGIC, fields, digest(fields, key, entry.value), key, entry.value]);
}

/** Decodes an entry file; undefined when it is corrupt in any way (wrong magic, lengths or digest). */
export function decodeFolderEntry(file: Buffer): FolderEntry | undefined {
  if (file.length < HEADER_BYTES || !file.subarray(0, MAGIC.length).equals(MAGIC)) return undefined;
  const fields = file.subarray(MAGIC.length, MAGIC.length + 16);
  const expiresAt = fields.readDoubleBE(0);
  const keyBytes = fields.readUInt32BE(8);
  const valueBytes = fields.readUInt32BE(12);
  if (!Number.isFinite(expiresAt) || file.length !== HEADER_BYTES + keyBytes + valueBytes) return undefined;
  const stored = file.subarray(MAGIC.length + 16, HEADER_BYTES);
  const key = file.subarray(HEADER_BYTES, HEADER_BYTES + keyBytes);
  const value = file.subarray(HEADER_BYTES + keyBytes);
  if (!stored.equals(digest(fields, key, value))) return undefined;
  return { key: key.toString('utf8'), value, expiresAt };
}

function digest(fields: Buffer, key: Buffer, value: Buffer): Buffer {
  return createHash('sha256').update(fields).update(key).update(value).digest().subarray(0, 16);
}
