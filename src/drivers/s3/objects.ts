import type { HeadObjectCommandOutput, _Object } from '@aws-sdk/client-s3';
import { FsError } from '../../core/errors.js';
import type { ObjectInfo } from '../object-store/adapter.js';
import { unquote } from './upload.js';

/** An HTTP header token: what an x-amz-meta-* name may contain. */
const HEADER_TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** Printable ASCII and tab: what S3 stores in a metadata value unchanged. */
const HEADER_VALUE = /^[\t\x20-\x7e]*$/;
/** S3 keeps at most 2 KB of user metadata per object. */
const MAX_METADATA_BYTES = 2048;

/**
 * User metadata as x-amz-meta-* headers can carry it: names lower-cased (S3
 * lower-cases them anyway, and stat reports lower-case keys), values
 * printable ASCII (S3 mangles others), 2 KB in all. Throws FsError EINVAL
 * naming the key and the entry for a name that is no header token, two names
 * equal but for case, or a value with other characters (`op` names the
 * operation in the error).
 */
export function metadataHeaders(metadata: Record<string, string> | undefined, key: string, op = 'write'): Record<string, string> | undefined {
  if (metadata === undefined) return undefined;
  const invalid = (reason: string) => new FsError('EINVAL', `${op} '${key}': ${reason}`, { path: key, op });
  const out: Record<string, string> = {};
  let bytes = 0;
  for (const [name, value] of Object.entries(metadata)) {
    const lower = name.toLowerCase();
    if (!HEADER_TOKEN.test(name)) throw invalid(`metadata name '${name}' may hold only letters, digits and !#$%&'*+-.^_\`|~`);
    if (lower in out) throw invalid(`metadata names '${name}' and another differ only in case`);
    if (typeof value !== 'string' || !HEADER_VALUE.test(value)) throw invalid(`metadata '${name}' must be a printable ASCII string on s3`);
    out[lower] = value;
    bytes += lower.length + value.length;
  }
  if (bytes > MAX_METADATA_BYTES) throw invalid(`user metadata is ${bytes} bytes, s3 allows ${MAX_METADATA_BYTES}`);
  return out;
}

/**
 * The content MD5 an ETag stands for: a plain 32-hex ETag of an object
 * neither multipart ('-N' suffix) nor encrypted with KMS or a customer key
 * (whose ETags are not MD5s).
 */
export function md5FromEtag(etag: string | undefined, encryption?: { kms?: boolean; customerKey?: boolean }): string | undefined {
  if (etag === undefined || encryption?.kms || encryption?.customerKey) return undefined;
  const bare = unquote(etag).toLowerCase();
  return /^[0-9a-f]{32}$/.test(bare) ? bare : undefined;
}

/** The content headers a CopyObject with MetadataDirective REPLACE must repeat, taken from the source's HeadObject answer. */
export type ContentHeaders = Pick<HeadObjectCommandOutput, 'ContentType' | 'ContentEncoding' | 'ContentLanguage' | 'ContentDisposition' | 'CacheControl' | 'Expires'>;

/**
 * The source's content headers for a CopyObject with MetadataDirective
 * REPLACE, which otherwise drops them (the copy would be
 * binary/octet-stream, without its encoding, cache-control...).
 */
export function contentHeaders(head: HeadObjectCommandOutput): ContentHeaders {
  const out: ContentHeaders = {};
  if (head.ContentType !== undefined) out.ContentType = head.ContentType;
  if (head.ContentEncoding !== undefined) out.ContentEncoding = head.ContentEncoding;
  if (head.ContentLanguage !== undefined) out.ContentLanguage = head.ContentLanguage;
  if (head.ContentDisposition !== undefined) out.ContentDisposition = head.ContentDisposition;
  if (head.CacheControl !== undefined) out.CacheControl = head.CacheControl;
  if (head.Expires !== undefined) out.Expires = head.Expires;
  return out;
}

/** ObjectInfo from a HeadObject answer. */
export function infoFromHead(key: string, out: HeadObjectCommandOutput): ObjectInfo {
  const info: ObjectInfo = { key, size: out.ContentLength ?? 0, lastModified: out.LastModified ?? new Date(0) };
  if (out.ETag !== undefined) info.etag = unquote(out.ETag);
  const md5 = md5FromEtag(out.ETag, {
    kms: out.ServerSideEncryption === 'aws:kms' || out.ServerSideEncryption === 'aws:kms:dsse',
    customerKey: out.SSECustomerAlgorithm !== undefined,
  });
  if (md5 !== undefined) info.md5 = md5;
  if (out.ContentType !== undefined) info.mimeType = out.ContentType;
  if (out.Metadata !== undefined) info.metadata = lowerCaseKeys(out.Metadata);
  return info;
}

/** ObjectInfo from a ListObjectsV2 entry (`key` already decoded). */
export function infoFromListing(key: string, object: _Object): ObjectInfo {
  const info: ObjectInfo = { key, size: object.Size ?? 0, lastModified: object.LastModified ?? new Date(0) };
  if (object.ETag !== undefined) info.etag = unquote(object.ETag);
  // A listing does not say whether the object is KMS-encrypted; its ETag is then not an MD5.
  // Only HEAD (stat/checksum) reports md5, so a listing never claims one.
  return info;
}

function lowerCaseKeys(metadata: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(metadata)) out[name.toLowerCase()] = value;
  return out;
}
