import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Bucket, CopyOptions, CreateReadStreamOptions, CreateWriteStreamOptions, FileMetadata, Storage } from '@google-cloud/storage';
import { FsError } from '../../core/errors.js';
import { encodeKeyForUrl } from '../../core/signing.js';
import { emptyReadable } from '../shared/body.js';
import type { CopyOptions as StorageCopyOptions, DriverCapabilities, Visibility } from '../types.js';
import type { ObjectInfo, ObjectListing, ObjectStoreAdapter, PutOptions } from '../object-store/adapter.js';
import { httpStatus, mapGcsError } from './errors.js';
import { decodeGcsCursor, mergePage } from './listing.js';
import { peekBody } from './upload.js';

/**
 * Bodies up to this size go up in one multipart request; larger or
 * unknown-size bodies use a resumable session (two requests, streamed, no
 * chunkSize: the emulator has no chunked resumable uploads). It is also the
 * most the adapter reads ahead into memory to decide.
 */
export const SIMPLE_UPLOAD_MAX_BYTES = 2 * 1024 * 1024;

/** Deletes in flight at once (GCS has no batch delete in the JSON API client). */
const DELETE_CONCURRENCY = 16;

/** What GcsAdapter is built from. */
export interface GcsAdapterOptions {
  storage: Storage;
  bucket: string;
  /** The firebase storage emulator: no ACLs, no signed PUT route, no expiry checks. */
  emulator: boolean;
  /** Per-object ACL visibility works (false with uniform bucket-level access, or on the emulator). */
  visibility: boolean;
  /** Origin that serves `<bucket>/<key>` publicly (https://storage.googleapis.com or the emulator's endpoint). */
  publicOrigin: string;
}

/**
 * ObjectStoreAdapter over @google-cloud/storage. Keys are full object names.
 * Version token (etag) is the object generation; md5 comes from md5Hash.
 * Visibility is the object ACL: public = allUsers READER (predefinedAcl
 * publicRead), private = projectPrivate.
 */
export class GcsAdapter implements ObjectStoreAdapter {
  readonly name = 'gcs';
  readonly capabilities: Partial<DriverCapabilities>;
  private readonly bucket: Bucket;

  constructor(private readonly options: GcsAdapterOptions) {
    this.bucket = options.storage.bucket(options.bucket);
    this.capabilities = {
      visibility: options.visibility,
      metadata: true,
      publicUrl: true,
      temporaryUrl: true,
      temporaryUrlExpiryEnforced: !options.emulator,
      temporaryUrlSignatureEnforced: !options.emulator,
      temporaryUploadUrl: !options.emulator,
      nativeChecksum: 'md5',
      serverSideCopy: true,
      mtimeResolutionMs: 1,
    };
  }

  async head(key: string): Promise<ObjectInfo | null> {
    try {
      const [metadata] = await this.bucket.file(key).getMetadata();
      return toObjectInfo(metadata, key);
    } catch (err) {
      if (httpStatus(err) === 404) return null;
      throw err;
    }
  }

  async list(prefix: string, options: { delimiter?: string; continuation?: string; maxKeys: number }): Promise<ObjectListing> {
    const cursor = decodeGcsCursor(options.continuation);
    const [files, , response] = await this.bucket.getFiles({
      autoPaginate: false,
      prefix,
      maxResults: options.maxKeys,
      ...(options.delimiter !== undefined ? { delimiter: options.delimiter } : {}),
      ...(cursor.t !== undefined ? { pageToken: cursor.t } : {}),
    });
    const api = (response ?? {}) as { prefixes?: unknown; nextPageToken?: unknown };
    const next = typeof api.nextPageToken === 'string' && api.nextPageToken !== '' ? api.nextPageToken : undefined;
    return mergePage(
      {
        objects: files.map((f) => toObjectInfo(f.metadata, f.name)),
        prefixes: Array.isArray(api.prefixes) ? api.prefixes.filter((p): p is string => typeof p === 'string') : [],
        ...(next !== undefined ? { next } : {}),
      },
      cursor,
      options.maxKeys,
      this.options.emulator,
    );
  }

  async get(key: string, range: { offset: number; length?: number } | undefined, signal?: AbortSignal): Promise<Readable> {
    if (range?.length === 0) {
      if (!(await this.head(key))) throw new FsError('ENOENT', `gcs read '${key}': no such object`, { path: key, op: 'read' });
      return emptyReadable();
    }
    const ranged = range !== undefined && (range.offset > 0 || range.length !== undefined);
    const options: CreateReadStreamOptions = ranged
      ? { start: range.offset, ...(range.length !== undefined ? { end: range.offset + range.length - 1 } : {}) }
      : {};
    const stream = this.bucket.file(key).createReadStream(options);
    return new Promise<Readable>((resolve, reject) => {
      const onAbort = () => stream.destroy(Object.assign(new Error(`read '${key}' aborted`), { name: 'AbortError' }));
      signal?.addEventListener('abort', onAbort, { once: true });
      stream.once('error', (err: unknown) => {
        // A range that starts at or past the end: GCS answers 416; an empty read.
        if (ranged && httpStatus(err) === 416) resolve(emptyReadable());
        else reject(err);
      });
      stream.once('response', (response: { statusCode?: number; status?: number }) => {
        const status = response.statusCode ?? response.status ?? 0;
        if (status >= 300) return; // the error event follows, with the body's message
        stream.on('error', () => undefined); // the consumer attaches its own; this only prevents a crash in between
        if (this.options.emulator && ranged && range.offset > 0 && status === 200) {
          // The emulator answers an unsatisfiable range with 200 and the whole
          // object (express req.range() = -1); a satisfiable one is always 206.
          // (Real GCS answers 416, handled above; its 200 to a range means a
          // gzip-transcoded object, which is served whole.)
          stream.destroy();
          resolve(emptyReadable());
          return;
        }
        resolve(stream);
      });
      if (signal?.aborted) onAbort();
      else stream.read(0); // the SDK sends the request on the first read
    });
  }

  async put(key: string, body: Readable, options: PutOptions): Promise<{ etag?: string }> {
    const signal = options.signal;
    const onAbort = () => body.destroy(Object.assign(new Error(`write '${key}' aborted`), { name: 'AbortError' }));
    if (signal?.aborted) onAbort();
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      return await this.upload(key, body, options);
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
  }

  /** Simple upload for small bodies, resumable for large or unknown-size ones; atomic either way. */
  private async upload(key: string, body: Readable, options: PutOptions): Promise<{ etag?: string }> {
    let source = body;
    let resumable: boolean;
    if (options.size !== undefined) {
      resumable = options.size > SIMPLE_UPLOAD_MAX_BYTES;
    } else {
      const peeked = await peekBody(body, SIMPLE_UPLOAD_MAX_BYTES);
      source = peeked.body;
      resumable = !peeked.ended;
    }
    const file = this.bucket.file(key);
    const metadata: FileMetadata = { contentType: options.mimeType };
    if (options.metadata !== undefined) metadata.metadata = lowerCaseKeys(options.metadata);
    const writeOptions: CreateWriteStreamOptions = { resumable, contentType: options.mimeType, metadata };
    if (options.visibility !== undefined && this.options.visibility) writeOptions.predefinedAcl = predefinedAcl(options.visibility);
    await pipeline(source, file.createWriteStream(writeOptions), ...(options.signal ? [{ signal: options.signal }] : []));
    const generation = file.metadata.generation;
    return generation !== undefined ? { etag: String(generation) } : {};
  }

  async deleteMany(keys: string[]): Promise<void> {
    let next = 0;
    const worker = async () => {
      while (next < keys.length) {
        const key = keys[next++] as string;
        await this.bucket.file(key).delete({ ignoreNotFound: true });
      }
    };
    await Promise.all(Array.from({ length: Math.min(DELETE_CONCURRENCY, keys.length) }, worker));
  }

  async copy(from: string, to: string, options: StorageCopyOptions = {}): Promise<void> {
    const copyOptions: CopyOptions = {};
    // A GCS copy gets the bucket's default ACL, not the source's: carry it over.
    if (this.options.visibility) copyOptions.predefinedAcl = predefinedAcl(await this.getVisibility(from));
    if (options.metadata !== undefined) {
      // A rewrite with a request body takes the destination's whole resource from it: repeat the source's content fields.
      const [source] = await this.bucket.file(from).getMetadata();
      Object.assign(copyOptions, contentFields(source), { metadata: lowerCaseKeys(options.metadata) });
    }
    options.signal?.throwIfAborted(); // the SDK's copy takes no signal
    await this.bucket.file(from).copy(this.bucket.file(to), copyOptions);
  }

  async setVisibility(key: string, visibility: Visibility): Promise<void> {
    this.requireVisibility(key);
    await this.bucket.file(key).setMetadata({}, { predefinedAcl: predefinedAcl(visibility) });
  }

  async getVisibility(key: string): Promise<Visibility> {
    this.requireVisibility(key);
    const [metadata] = await this.bucket.file(key).getMetadata({ projection: 'full' });
    const publicRead = (metadata.acl ?? []).some((entry) => entry.entity === 'allUsers' && (entry.role === 'READER' || entry.role === 'OWNER'));
    return publicRead ? 'public' : 'private';
  }

  publicUrl(key: string): string {
    return `${this.options.publicOrigin}/${encodeURIComponent(this.options.bucket)}/${encodeKeyForUrl(key)}`;
  }

  async presign(key: string, method: 'GET' | 'PUT', expiresIn: number, mimeType?: string): Promise<string> {
    const [url] = await this.bucket.file(key).getSignedUrl({
      version: 'v4',
      action: method === 'GET' ? 'read' : 'write',
      expires: Date.now() + expiresIn * 1000,
      ...(method === 'PUT' && mimeType !== undefined ? { contentType: mimeType } : {}),
    });
    return url;
  }

  mapError(err: unknown, key: string, op: string): FsError {
    return mapGcsError(err, key, op);
  }

  async close(): Promise<void> {
    // The SDK holds no pooled resources that need releasing.
  }

  private requireVisibility(key: string): void {
    if (!this.options.visibility) {
      throw new FsError('ENOTSUP', `gcs disk on bucket '${this.options.bucket}' has no per-object ACLs (path '${key}')`, { path: key });
    }
  }
}

function predefinedAcl(visibility: Visibility): 'publicRead' | 'projectPrivate' {
  return visibility === 'public' ? 'publicRead' : 'projectPrivate';
}

/** Content fields of an object resource that a copy with replacement metadata must repeat. */
const CONTENT_FIELDS = ['contentType', 'contentEncoding', 'contentDisposition', 'contentLanguage', 'cacheControl'] as const;

/** The source's content fields, to send along with replacement metadata in a copy. */
function contentFields(source: FileMetadata): Record<string, string> {
  const out: Record<string, string> = {};
  for (const field of CONTENT_FIELDS) {
    const value = source[field];
    if (typeof value === 'string' && value !== '') out[field] = value;
  }
  return out;
}

function lowerCaseKeys(metadata: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(metadata).map(([k, v]) => [k.toLowerCase(), v]));
}

/** ObjectInfo from the JSON API's object resource. */
export function toObjectInfo(metadata: FileMetadata, fallbackKey: string): ObjectInfo {
  const info: ObjectInfo = {
    key: metadata.name ?? fallbackKey,
    size: Number(metadata.size ?? 0),
    lastModified: new Date(metadata.updated ?? metadata.timeCreated ?? 0),
  };
  if (metadata.generation !== undefined) info.etag = String(metadata.generation);
  if (metadata.md5Hash) info.md5 = Buffer.from(metadata.md5Hash, 'base64').toString('hex');
  if (metadata.contentType) info.mimeType = metadata.contentType;
  if (metadata.metadata) {
    const custom: Record<string, string> = {};
    for (const [k, v] of Object.entries(metadata.metadata)) if (v !== null && v !== undefined) custom[k.toLowerCase()] = String(v);
    info.metadata = custom;
  }
  return info;
}
