import { Readable } from 'node:stream';
import {
  CopyObjectCommand,
  DeleteObjectsCommand,
  GetObjectAclCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectAclCommand,
  PutObjectCommand,
  type HeadObjectCommandOutput,
  type S3Client,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { FsError } from '../../core/errors.js';
import { emptyReadable } from '../shared/body.js';
import type { CopyOptions, DriverCapabilities, Visibility } from '../types.js';
import type { ObjectInfo, ObjectListing, ObjectStoreAdapter, PutOptions } from '../object-store/adapter.js';
import { cannedAcl, visibilityFromGrants } from './acl.js';
import { isS3NotFound, mapS3Error, s3ErrorName, s3ErrorStatus } from './errors.js';
import { trimRangedBody } from './ranges.js';
import { decodeListing } from './listing.js';
import { contentHeaders, infoFromHead, metadataHeaders } from './objects.js';
import type { S3Settings } from './settings.js';
import { uploadStream } from './upload.js';
import { s3PublicUrl } from './urls.js';

/** DeleteObjects takes at most this many keys per request. */
const DELETE_BATCH = 1000;
/** CopyObject copies at most 5 GiB; larger objects are copied by streaming them through. */
const MAX_COPY_OBJECT_BYTES = 5 * 2 ** 30;

/** What a copy writes: the source's object, and the metadata (given, else the source's) and ACL of the copy. */
interface CopyPlan {
  source: ObjectInfo;
  /** Replacement user metadata, already checked by metadataHeaders. */
  metadata?: Record<string, string>;
  visibility?: Visibility;
}

/** What the s3 adapter needs besides the client. */
export interface S3AdapterOptions {
  settings: S3Settings;
  /** Send and read ACLs (public-read / private); false for buckets with ACLs disabled. */
  acl: boolean;
  /** Capability overrides for servers that differ from AWS (applied last). */
  capabilities?: Partial<DriverCapabilities>;
  /** The server's REPLACE copy onto an existing key keeps that key's old ETag (s3rver): such copies stream through. */
  replaceCopyKeepsOldEtag?: boolean;
}

/**
 * The S3 half of the s3 driver: an ObjectStoreAdapter over one bucket of AWS
 * S3 or an S3-compatible service. Visibility is the object ACL (public-read
 * or private); checksums are the MD5 that a plain ETag is; copies are
 * server-side CopyObject with the source's ACL and content headers, and its
 * metadata or the replacement given (MetadataDirective REPLACE).
 */
export class S3Adapter implements ObjectStoreAdapter {
  readonly name = 's3';
  readonly capabilities: Partial<DriverCapabilities>;
  private readonly bucket: string;

  constructor(
    private readonly client: S3Client,
    private readonly options: S3AdapterOptions,
  ) {
    this.bucket = options.settings.bucket;
    this.capabilities = {
      visibility: options.acl,
      metadata: true,
      publicUrl: true,
      temporaryUrl: true,
      temporaryUrlExpiryEnforced: true,
      temporaryUrlSignatureEnforced: true,
      temporaryUploadUrl: true,
      nativeChecksum: 'md5',
      serverSideCopy: true,
      // S3 allows 1024-byte keys and has no segment limit; 255 matches POSIX NAME_MAX and the other drivers.
      limits: { maxNameBytes: 255, maxKeyBytes: 1024 },
      mtimeResolutionMs: 1000,
      ...options.capabilities,
    };
  }

  async head(key: string): Promise<ObjectInfo | null> {
    const out = await this.headObject(key);
    return out ? infoFromHead(key, out) : null;
  }

  async list(prefix: string, options: { delimiter?: string; continuation?: string; maxKeys: number }): Promise<ObjectListing> {
    const out = await this.client.send(
      new ListObjectsV2Command({
        Bucket: this.bucket,
        Prefix: prefix === '' ? undefined : prefix,
        Delimiter: options.delimiter,
        ContinuationToken: options.continuation,
        MaxKeys: options.maxKeys,
        // Keys may hold characters XML 1.0 cannot carry; decoded in decodeListing when the server applied it.
        EncodingType: 'url',
      }),
    );
    return decodeListing(out);
  }

  async get(key: string, range: { offset: number; length?: number } | undefined, signal?: AbortSignal): Promise<Readable> {
    if (range?.length === 0) {
      if (!(await this.head(key))) throw this.notFound(key, 'read');
      return emptyReadable();
    }
    const offset = range?.offset ?? 0;
    const header =
      offset === 0 && range?.length === undefined ? undefined : `bytes=${offset}-${range?.length !== undefined ? offset + range.length - 1 : ''}`;
    try {
      const out = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key, Range: header }), { abortSignal: signal });
      if (!(out.Body instanceof Readable)) throw new FsError('EIO', `read '${key}': the S3 client gave no Node stream`, { path: key, op: 'read' });
      return header === undefined ? out.Body : trimRangedBody(out.Body, out, offset, range?.length);
    } catch (err) {
      // 416: the range starts at or past the end (the key exists: a missing key answers 404 first).
      if (s3ErrorName(err) === 'InvalidRange' || s3ErrorStatus(err) === 416) return emptyReadable();
      throw err;
    }
  }

  async put(key: string, body: Readable, options: PutOptions): Promise<{ etag?: string }> {
    const metadata = metadataHeaders(options.metadata, key);
    const { settings } = this.options;
    return uploadStream(
      this.client,
      {
        Bucket: this.bucket,
        Key: key,
        Body: body,
        ContentType: options.mimeType,
        ...(metadata !== undefined ? { Metadata: metadata } : {}),
        ...(this.options.acl && options.visibility !== undefined ? { ACL: cannedAcl(options.visibility) } : {}),
      },
      {
        partSize: settings.partSize,
        concurrency: settings.uploadConcurrency,
        ...(options.size !== undefined ? { sizeHint: options.size } : {}),
      },
      options.signal,
    );
  }

  async deleteMany(keys: string[]): Promise<void> {
    for (let start = 0; start < keys.length; start += DELETE_BATCH) {
      const batch = keys.slice(start, start + DELETE_BATCH);
      const out = await this.client.send(
        new DeleteObjectsCommand({ Bucket: this.bucket, Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true } }),
      );
      const failure = (out.Errors ?? []).find((e) => e.Code !== 'NoSuchKey');
      if (failure) {
        // Shaped like an SDK error so mapError treats it as the server's answer.
        throw Object.assign(new Error(failure.Message ?? 'delete failed'), { name: failure.Code ?? 'InternalError', key: failure.Key });
      }
    }
  }

  async copy(from: string, to: string, options: CopyOptions = {}): Promise<void> {
    const { signal } = options;
    const head = await this.headObject(from, signal);
    if (!head) throw this.notFound(from, 'copy');
    if (from === to && options.metadata === undefined) return;
    const metadata = metadataHeaders(options.metadata, to, 'copy'); // refused before anything is written
    const visibility = this.options.acl ? await this.getVisibility(from) : undefined;
    const plan: CopyPlan = {
      source: infoFromHead(from, head),
      ...(metadata !== undefined ? { metadata } : {}),
      ...(visibility !== undefined ? { visibility } : {}),
    };
    if (plan.source.size > MAX_COPY_OBJECT_BYTES || (await this.replaceCopyWouldKeepOldEtag(from, to, metadata, signal))) {
      return this.copyThrough(plan, to, signal);
    }
    try {
      await this.client.send(
        new CopyObjectCommand({
          Bucket: this.bucket,
          Key: to,
          CopySource: `${this.bucket}/${from.split('/').map(encodeURIComponent).join('/')}`,
          // REPLACE takes every header from the request: the source's content headers are sent again.
          ...(metadata === undefined ? { MetadataDirective: 'COPY' } : { MetadataDirective: 'REPLACE', Metadata: metadata, ...contentHeaders(head) }),
          ...(visibility !== undefined ? { ACL: cannedAcl(visibility) } : {}),
        }),
        { abortSignal: signal },
      );
    } catch (err) {
      // Some S3-compatible servers decode x-amz-copy-source only partly (s3rver: decodeURI, so
      // '#', '+', '&'... stay escaped) and answer NoSuchKey for a source that exists: stream instead.
      if (!isS3NotFound(err)) throw err;
      const again = await this.headObject(from, signal);
      if (!again) throw this.notFound(from, 'copy');
      await this.copyThrough({ ...plan, source: infoFromHead(from, again) }, to, signal);
    }
  }

  async setVisibility(key: string, visibility: Visibility): Promise<void> {
    await this.client.send(new PutObjectAclCommand({ Bucket: this.bucket, Key: key, ACL: cannedAcl(visibility) }));
  }

  async getVisibility(key: string): Promise<Visibility> {
    const out = await this.client.send(new GetObjectAclCommand({ Bucket: this.bucket, Key: key }));
    return visibilityFromGrants(out.Grants);
  }

  publicUrl(key: string): string {
    return s3PublicUrl(this.options.settings, key);
  }

  async presign(key: string, method: 'GET' | 'PUT', expiresIn: number, mimeType?: string): Promise<string> {
    const command =
      method === 'GET'
        ? new GetObjectCommand({ Bucket: this.bucket, Key: key })
        : new PutObjectCommand({ Bucket: this.bucket, Key: key, ...(mimeType !== undefined ? { ContentType: mimeType } : {}) });
    return getSignedUrl(this.client, command, { expiresIn });
  }

  mapError(err: unknown, key: string, op: string): FsError {
    return mapS3Error(err, this.bucket, key, op);
  }

  async close(): Promise<void> {
    this.client.destroy();
  }

  /** HeadObject's answer, or null when no object has exactly this key. */
  private async headObject(key: string, signal?: AbortSignal): Promise<HeadObjectCommandOutput | null> {
    try {
      return await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }), { abortSignal: signal });
    } catch (err) {
      if (isS3NotFound(err)) return null;
      throw err;
    }
  }

  /** True when a REPLACE CopyObject onto `to` would leave it with a wrong ETag (see S3AdapterOptions.replaceCopyKeepsOldEtag). */
  private async replaceCopyWouldKeepOldEtag(from: string, to: string, metadata: unknown, signal: AbortSignal | undefined): Promise<boolean> {
    if (!this.options.replaceCopyKeepsOldEtag || metadata === undefined || from === to) return false;
    return (await this.headObject(to, signal)) !== null;
  }

  /** Copies by reading the source and uploading it again, with the plan's type, metadata and visibility. */
  private async copyThrough(plan: CopyPlan, to: string, signal: AbortSignal | undefined): Promise<void> {
    const { source } = plan;
    const metadata = plan.metadata ?? source.metadata;
    const body = await this.get(source.key, undefined, signal);
    try {
      await this.put(to, body, {
        mimeType: source.mimeType ?? 'application/octet-stream',
        size: source.size,
        ...(metadata !== undefined ? { metadata } : {}),
        ...(plan.visibility !== undefined ? { visibility: plan.visibility } : {}),
        ...(signal !== undefined ? { signal } : {}),
      });
    } finally {
      body.destroy();
    }
  }

  private notFound(key: string, op: string): FsError {
    return new FsError('ENOENT', `${op} '${key}': no such object in bucket '${this.bucket}'`, { path: key, op });
  }
}
