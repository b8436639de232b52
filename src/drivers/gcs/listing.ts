import { FsError } from '../../core/errors.js';
import type { ObjectInfo, ObjectListing } from '../object-store/adapter.js';

/**
 * Listing state carried in the adapter's continuation token: the GCS page
 * token to (re)request and the last key or prefix already handed out.
 */
export interface GcsListCursor {
  /** GCS pageToken of the page to request; absent: the first page. */
  t?: string;
  /** Last object key or prefix emitted; everything <= it was emitted. */
  a?: string;
}

/** One raw page as the JSON API answered it. */
export interface GcsRawPage {
  objects: ObjectInfo[];
  prefixes: string[];
  /** The API's nextPageToken. */
  next?: string;
}

/** Encodes the cursor as an opaque token. */
export function encodeGcsCursor(cursor: GcsListCursor): string {
  return 'g' + Buffer.from(JSON.stringify(cursor)).toString('base64url');
}

/** Decodes a token from encodeGcsCursor; EINVAL for anything else. */
export function decodeGcsCursor(token: string | undefined): GcsListCursor {
  if (token === undefined) return {};
  try {
    if (!token.startsWith('g')) throw new Error('not a gcs cursor');
    const parsed = JSON.parse(Buffer.from(token.slice(1), 'base64url').toString('utf8')) as GcsListCursor;
    if (typeof parsed !== 'object' || parsed === null) throw new Error('bad shape');
    return parsed;
  } catch {
    throw new FsError('EINVAL', `invalid gcs listing cursor '${token.slice(0, 40)}'`, { op: 'list' });
  }
}

/**
 * Turns a raw page into at most `maxKeys` entries in byte order, and the
 * token of the next page.
 *
 * Real GCS counts objects and prefixes together against maxResults and hands
 * each prefix out once, on the page where it falls; then this is a plain
 * pass-through. The firebase emulator counts only objects, returns EVERY
 * prefix on EVERY page, and its nextPageToken is the name of the next object.
 * `tokenIsKey` (emulator mode) makes the merge exact for it: the candidates
 * are everything after the cursor and before the next page's first object,
 * of which the first maxKeys are emitted; when more remain, the same GCS page
 * is asked again with a later cursor. Each entry is emitted exactly once and
 * no page exceeds maxKeys.
 */
export function mergePage(raw: GcsRawPage, cursor: GcsListCursor, maxKeys: number, tokenIsKey: boolean): ObjectListing {
  const after = cursor.a;
  const before = tokenIsKey ? raw.next : undefined;
  const inWindow = (name: string) =>
    (after === undefined || compareBytes(name, after) > 0) && (before === undefined || compareBytes(name, before) < 0);
  type Candidate = { name: string; object?: ObjectInfo };
  const candidates: Candidate[] = [
    ...raw.objects.filter((o) => inWindow(o.key)).map((o) => ({ name: o.key, object: o })),
    ...raw.prefixes.filter(inWindow).map((p) => ({ name: p })),
  ];
  candidates.sort((x, y) => compareBytes(x.name, y.name));
  const emitted = candidates.slice(0, Math.max(1, maxKeys));
  const listing: ObjectListing = {
    objects: emitted.flatMap((c) => (c.object ? [c.object] : [])),
    commonPrefixes: emitted.filter((c) => !c.object).map((c) => c.name),
  };
  const last = emitted.length > 0 ? emitted[emitted.length - 1]!.name : after;
  if (candidates.length > emitted.length) {
    listing.next = encodeGcsCursor({ ...(cursor.t !== undefined ? { t: cursor.t } : {}), ...(last !== undefined ? { a: last } : {}) });
  } else if (raw.next !== undefined) {
    listing.next = encodeGcsCursor({ t: raw.next, ...(last !== undefined ? { a: last } : {}) });
  }
  return listing;
}

/** Orders strings by their UTF-8 bytes, as GCS orders object names. */
export function compareBytes(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}
