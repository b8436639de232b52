import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { BlobSASPermissions, type BlobGetPropertiesResponse, type BlobItem, type ContainerClient } from '@azure/storage-blob';
import { FsError } from '../../core/errors.js';
import { emptyReadable } from '../shared/body.js';
import type { CopyOptions, DriverCapabilities } from '../types.js';
import type { ObjectInfo, ObjectListing, ObjectStoreAdapter, PutOptions } from '../object-store/adapter.js';
import { errorCode, hasStatus, mapAzureError, withDeadline } from './errors.js';
import { decodeMetadata, encodeMetadata } from './metadata.js';
import { uploadBlob } from './upload.js';

/** Access tiers a disk may give new blobs. */
export type AzureTier = 'Hot' | 'Cool' | 'Cold' | 'Archive';

/** What AzureAdapter needs besides the container client. */
export interface AzureAdapterOptions {
  /** Deadline of each request, in milliseconds (a wrong or silent endpoint fails within it). */
  timeoutMs: number;
  /** Tier for new blobs (directory markers stay on the account default). */
  tier?: AzureTier;
  /** True when SAS URLs can be signed (the credential is a shared key). */
  canSign: boolean;
}

/** Blocks staged in parallel per upload (each block is 4 MiB by default). */
const UPLOAD_CONCURRENCY = 2;
/** Blob deletes in flight at once in deleteMany. */
const DELETE_CONCURRENCY = 16;
/** Pause between polls of a pending server-side copy. */
const COPY_POLL_MS = 250;

/**
 * ObjectStoreAdapter over @azure/storage-blob, keyed by blob names in one
 * container. Azure has no per-blob ACL (public access is a container
 * setting), so visibility is unsupported and `publicUrl` is the plain blob
 * URL, which serves bytes only when the container allows anonymous blob
 * reads. Temporary URLs are service SAS URLs signed with the shared key (GET:
 * read; PUT: create+write, and the uploader must send `x-ms-blob-type:
 * BlockBlob`); a disk authenticated by a SAS token cannot sign and reports
 * no temporary URLs. Checksums are the blob's Content-MD5, which every write
 * through this adapter stores.
 */
export class AzureAdapter implements ObjectStoreAdapter {
  readonly name = 'azure';
  readonly capabilities: Partial<DriverCapabilities>;

  constructor(
    private readonly container: ContainerClient,
    private readonly options: AzureAdapterOptions,
  ) {
    this.capabilities = {
      emptyDirectories: true,
      visibility: false,
      metadata: true,
      publicUrl: true,
      temporaryUrl: options.canSign,
      // Azure refuses an expired SAS (403). Azurite does too, except on a container with
      // anonymous read access, where it serves the blob anonymously whatever the SAS says.
      temporaryUrlExpiryEnforced: options.canSign,
      temporaryUrlSignatureEnforced: options.canSign,
      temporaryUploadUrl: options.canSign,
      nativeChecksum: 'md5',
      serverSideCopy: true,
      mtimeResolutionMs: 1000,
    };
  }

  async head(key: string): Promise<ObjectInfo | null> {
    const blob = this.container.getBlobClient(key);
    return this.request(key, 'stat', undefined, async (abortSignal) => {
      try {
        return propertiesInfo(key, await blob.getProperties({ abortSignal }));
      } catch (err) {
        if (hasStatus(err, 404) && errorCode(err) !== 'ContainerNotFound') return null;
        throw err;
      }
    });
  }

  async list(prefix: string, options: { delimiter?: string; continuation?: string; maxKeys: number }): Promise<ObjectListing> {
    const pageSettings = { maxPageSize: options.maxKeys, ...(options.continuation !== undefined ? { continuationToken: options.continuation } : {}) };
    return this.request(prefix, 'list', undefined, async (abortSignal) => {
      const listOptions = { prefix, includeMetadata: true, abortSignal };
      if (options.delimiter !== undefined) {
        const pages = this.container.listBlobsByHierarchy(options.delimiter, listOptions).byPage(pageSettings);
        const page = (await pages.next()).value;
        return {
          objects: (page?.segment.blobItems ?? []).map(itemInfo),
          commonPrefixes: (page?.segment.blobPrefixes ?? []).map((folder: { name: string }) => folder.name),
          ...nextToken(page?.continuationToken),
        };
      }
      const pages = this.container.listBlobsFlat(listOptions).byPage(pageSettings);
      const page = (await pages.next()).value;
      return { objects: (page?.segment.blobItems ?? []).map(itemInfo), commonPrefixes: [], ...nextToken(page?.continuationToken) };
    });
  }

  async get(key: string, range: { offset: number; length?: number } | undefined, signal?: AbortSignal): Promise<Readable> {
    const blob = this.container.getBlobClient(key);
    const response = await this.request(key, 'read', signal, async (abortSignal) => {
      try {
        return await blob.download(range?.offset ?? 0, range?.length, { abortSignal, maxRetryRequests: 2 });
      } catch (err) {
        if (hasStatus(err, 416)) return undefined; // the range starts at or past the end
        throw err;
      }
    });
    const body = response?.readableStreamBody;
    if (!body) return emptyReadable();
    const stream = body instanceof Readable ? body : new Readable().wrap(body);
    if (signal) {
      const abort = () => stream.destroy(new FsError('ECANCELED', `read '${key}': aborted by the caller`, { path: key, op: 'read' }));
      signal.addEventListener('abort', abort, { once: true });
      stream.once('close', () => signal.removeEventListener('abort', abort));
    }
    return stream;
  }

  async put(key: string, body: Readable, options: PutOptions): Promise<{ etag?: string }> {
    const metadata = options.metadata ? encodeMetadata(options.metadata, key) : undefined;
    const isMarker = key.endsWith('/');
    try {
      const etag = await uploadBlob(this.container.getBlockBlobClient(key), body, {
        contentType: options.mimeType,
        concurrency: UPLOAD_CONCURRENCY,
        ...(metadata ? { metadata } : {}),
        ...(this.options.tier && !isMarker ? { tier: this.options.tier } : {}),
        ...(options.size !== undefined ? { size: options.size } : {}),
        request: (fn) => withDeadline(this.options.timeoutMs, options.signal, { key, op: 'write' }, fn),
      });
      return etag !== undefined ? { etag } : {};
    } catch (err) {
      throw this.mapError(err, key, 'write');
    }
  }

  async deleteMany(keys: string[]): Promise<void> {
    let next = 0;
    const worker = async () => {
      while (next < keys.length) {
        const key = keys[next++] as string;
        const blob = this.container.getBlobClient(key);
        await this.request(key, 'delete', undefined, (abortSignal) => blob.deleteIfExists({ deleteSnapshots: 'include', abortSignal }));
      }
    };
    await Promise.all(Array.from({ length: Math.min(DELETE_CONCURRENCY, keys.length) }, worker));
  }

  async copy(from: string, to: string, options: CopyOptions = {}): Promise<void> {
    const { signal } = options;
    const metadata = options.metadata !== undefined ? { metadata: encodeMetadata(options.metadata, to, 'copy') } : {};
    const source = this.container.getBlobClient(from);
    const target = this.container.getBlobClient(to);
    const properties = await this.request(from, 'copy', signal, (abortSignal) => source.getProperties({ abortSignal }));
    // Copy Blob keeps content type, Content-MD5 and metadata (unless metadata is given: then exactly it);
    // the tier must be named or the account default applies.
    const tier = properties.accessTier !== undefined && properties.accessTierInferred !== true ? { tier: properties.accessTier } : {};
    const poller = await this.request(to, 'copy', signal, (abortSignal) =>
      target.beginCopyFromURL(source.url, { ...tier, ...metadata, abortSignal, intervalInMs: COPY_POLL_MS }),
    );
    while (!poller.isDone()) {
      await sleep(COPY_POLL_MS);
      await this.request(to, 'copy', signal, (abortSignal) => poller.poll({ abortSignal }));
    }
    const status = poller.getResult()?.copyStatus;
    if (status !== undefined && status !== 'success') {
      throw new FsError('EIO', `copy '${from}' to '${to}': the server-side copy ended as '${status}'`, { path: from, op: 'copy' });
    }
    if (options.metadata !== undefined && Object.keys(options.metadata).length === 0) {
      // Copy Blob without metadata headers copies the source's: clearing them takes a second request.
      await this.request(to, 'copy', signal, (abortSignal) => target.setMetadata({}, { abortSignal }));
    }
  }

  publicUrl(key: string): string {
    const url = new URL(this.container.getBlobClient(key).url);
    url.search = ''; // a SAS-authenticated client carries its token in the query
    return url.toString();
  }

  async presign(key: string, method: 'GET' | 'PUT', expiresIn: number, mimeType?: string): Promise<string> {
    if (!this.options.canSign) {
      throw new FsError('ENOTSUP', `presign '${key}': SAS URLs need an account key (connection_string with AccountKey, or account_key)`, {
        path: key,
        op: 'presign',
      });
    }
    const permissions = BlobSASPermissions.parse(method === 'GET' ? 'r' : 'cw');
    // The SAS carries whole seconds (truncated): round up so the URL lives at least `expiresIn` seconds.
    const expiresOn = new Date(Math.ceil((Date.now() + expiresIn * 1000) / 1000) * 1000);
    // For GET, a given mimeType becomes the response Content-Type (rsct); a PUT SAS cannot enforce one.
    const contentType = method === 'GET' && mimeType !== undefined ? { contentType: mimeType } : {};
    return this.container.getBlobClient(key).generateSasUrl({ permissions, expiresOn, ...contentType });
  }

  mapError(err: unknown, key: string, op: string): FsError {
    return mapAzureError(err, key, op, this.container.containerName);
  }

  async close(): Promise<void> {
    // The SDK's HTTP client is shared and keeps no timers of ours: nothing to release.
  }

  /** Runs one SDK call under the per-request deadline, mapping its errors with the key and op. */
  private async request<T>(key: string, op: string, signal: AbortSignal | undefined, fn: (abortSignal: AbortSignal) => Promise<T>): Promise<T> {
    try {
      return await withDeadline(this.options.timeoutMs, signal, { key, op }, fn);
    } catch (err) {
      throw this.mapError(err, key, op);
    }
  }
}

function nextToken(token: string | undefined): { next?: string } {
  return token ? { next: token } : {};
}

function md5Hex(md5: Uint8Array | undefined): { md5?: string } {
  return md5 && md5.length > 0 ? { md5: Buffer.from(md5).toString('hex') } : {};
}

function propertiesInfo(key: string, p: BlobGetPropertiesResponse): ObjectInfo {
  const metadata = decodeMetadata(p.metadata);
  return {
    key,
    size: p.contentLength ?? 0,
    lastModified: p.lastModified ?? new Date(0),
    ...(p.etag !== undefined ? { etag: p.etag } : {}),
    ...md5Hex(p.contentMD5),
    ...(p.contentType !== undefined ? { mimeType: p.contentType } : {}),
    ...(metadata !== undefined ? { metadata } : {}),
  };
}

function itemInfo(item: BlobItem): ObjectInfo {
  const p = item.properties;
  const metadata = decodeMetadata(item.metadata);
  return {
    key: item.name,
    size: p.contentLength ?? 0,
    lastModified: p.lastModified,
    etag: p.etag,
    ...md5Hex(p.contentMD5),
    ...(p.contentType !== undefined ? { mimeType: p.contentType } : {}),
    ...(metadata !== undefined ? { metadata } : {}),
  };
}
