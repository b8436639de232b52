import type { ListObjectsV2CommandOutput } from '@aws-sdk/client-s3';
import type { ObjectListing } from '../object-store/adapter.js';
import { infoFromListing } from './objects.js';

/**
 * One ListObjectsV2 page as an ObjectListing. Keys and prefixes are
 * URL-decoded when the server says it encoded them (EncodingType 'url'; S3
 * form-encodes, so '+' is a space); servers that ignore the request
 * (s3rver) answer raw keys, which are kept as they are. Entries are sorted by
 * UTF-8 bytes: S3 already answers in that order, s3rver walks its folders
 * and does not ('a/x' before 'a.txt').
 */
export function decodeListing(out: ListObjectsV2CommandOutput): ObjectListing {
  const decode = out.EncodingType === 'url' ? formDecode : (s: string) => s;
  const objects = (out.Contents ?? [])
    .filter((o) => o.Key !== undefined)
    .map((o) => infoFromListing(decode(o.Key as string), o))
    .sort((a, b) => byteOrder(a.key, b.key));
  const commonPrefixes = (out.CommonPrefixes ?? [])
    .map((p) => p.Prefix)
    .filter((p): p is string => p !== undefined)
    .map(decode)
    .sort(byteOrder);
  const listing: ObjectListing = { objects, commonPrefixes };
  if (out.IsTruncated && out.NextContinuationToken !== undefined) listing.next = out.NextContinuationToken;
  return listing;
}

/** Decodes S3's URL encoding of keys (application/x-www-form-urlencoded style). */
function formDecode(value: string): string {
  return decodeURIComponent(value.replace(/\+/g, ' '));
}

/** Compares strings by their UTF-8 bytes, the order S3 lists keys in. */
function byteOrder(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}
