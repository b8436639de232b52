import type { Checksum, FileStat, ListPage, Visibility } from '../../../drivers/types.js';

/**
 * How cached answers are stored: JSON (dates as epoch milliseconds). Every
 * decoder answers undefined for bytes that are not a well-formed entry of its
 * kind, so a damaged or foreign value is a miss, never a wrong answer.
 */

/** A cached stat: the FileStat, or the ENOENT the inner driver gave (negative entry). */
export type CachedStat = { found: FileStat } | { missing: string };

interface StoredStat {
  path: string;
  type: 'file' | 'directory';
  size: number;
  lastModified: number;
  etag?: string;
  mimeType?: string;
  visibility?: Visibility;
  metadata?: Record<string, string>;
}

/** Encodes a stat answer, or an ENOENT with the inner driver's message. */
export function encodeStat(answer: CachedStat): Buffer {
  if ('missing' in answer) return json({ missing: answer.missing });
  return json({ found: storedStat(answer.found) });
}

export function decodeStat(bytes: Buffer | undefined): CachedStat | undefined {
  const value = parse(bytes);
  if (!isObject(value)) return undefined;
  if (typeof value.missing === 'string') return { missing: value.missing };
  const found = restoreStat(value.found);
  return found === undefined ? undefined : { found };
}

export function encodePage(page: ListPage): Buffer {
  return json({ entries: page.entries.map(storedStat), ...(page.cursor !== undefined ? { cursor: page.cursor } : {}) });
}

export function decodePage(bytes: Buffer | undefined): ListPage | undefined {
  const value = parse(bytes);
  if (!isObject(value) || !Array.isArray(value.entries)) return undefined;
  if (value.cursor !== undefined && typeof value.cursor !== 'string') return undefined;
  const entries: FileStat[] = [];
  for (const raw of value.entries) {
    const entry = restoreStat(raw);
    if (entry === undefined) return undefined;
    entries.push(entry);
  }
  return typeof value.cursor === 'string' ? { entries, cursor: value.cursor } : { entries };
}

export function encodeChecksum(checksum: Checksum): Buffer {
  return json({ algorithm: checksum.algorithm, hex: checksum.hex });
}

export function decodeChecksum(bytes: Buffer | undefined): Checksum | undefined {
  const value = parse(bytes);
  if (!isObject(value) || (value.algorithm !== 'md5' && value.algorithm !== 'sha256') || typeof value.hex !== 'string') return undefined;
  return { algorithm: value.algorithm, hex: value.hex };
}

export function encodeVisibility(visibility: Visibility): Buffer {
  return Buffer.from(visibility, 'utf8');
}

export function decodeVisibility(bytes: Buffer | undefined): Visibility | undefined {
  const value = bytes?.toString('utf8');
  return value === 'public' || value === 'private' ? value : undefined;
}

function storedStat(stat: FileStat): StoredStat {
  return {
    path: stat.path,
    type: stat.type,
    size: stat.size,
    lastModified: stat.lastModified.getTime(),
    ...(stat.etag !== undefined ? { etag: stat.etag } : {}),
    ...(stat.mimeType !== undefined ? { mimeType: stat.mimeType } : {}),
    ...(stat.visibility !== undefined ? { visibility: stat.visibility } : {}),
    ...(stat.metadata !== undefined ? { metadata: { ...stat.metadata } } : {}),
  };
}

function restoreStat(raw: unknown): FileStat | undefined {
  if (!isObject(raw)) return undefined;
  const { path, type, size, lastModified, etag, mimeType, visibility, metadata } = raw;
  if (typeof path !== 'string' || (type !== 'file' && type !== 'directory') || typeof size !== 'number' || typeof lastModified !== 'number') {
    return undefined;
  }
  if ((etag !== undefined && typeof etag !== 'string') || (mimeType !== undefined && typeof mimeType !== 'string')) return undefined;
  if (visibility !== undefined && visibility !== 'public' && visibility !== 'private') return undefined;
  if (metadata !== undefined && !isStringRecord(metadata)) return undefined;
  return {
    path,
    type,
    size,
    lastModified: new Date(lastModified),
    ...(etag !== undefined ? { etag } : {}),
    ...(mimeType !== undefined ? { mimeType } : {}),
    ...(visibility !== undefined ? { visibility } : {}),
    ...(metadata !== undefined ? { metadata } : {}),
  };
}

function json(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(value), 'utf8');
}

function parse(bytes: Buffer | undefined): unknown {
  if (bytes === undefined) return undefined;
  try {
    return JSON.parse(bytes.toString('utf8')) as unknown;
  } catch {
    return undefined;
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isStringRecord(value: unknown): value is Record<string, string> {
  return isObject(value) && Object.values(value).every((item) => typeof item === 'string');
}
