import type { Grant, ObjectCannedACL } from '@aws-sdk/client-s3';
import type { Visibility } from '../types.js';

/** The grantee URI S3 uses for "everyone, anonymous included". */
export const ALL_USERS_URI = 'http://acs.amazonaws.com/groups/global/AllUsers';

/** The canned ACL that gives an object `visibility`. */
export function cannedAcl(visibility: Visibility): ObjectCannedACL {
  return visibility === 'public' ? 'public-read' : 'private';
}

/** public when the ACL lets AllUsers READ (or FULL_CONTROL) the object, else private. */
export function visibilityFromGrants(grants: Grant[] | undefined): Visibility {
  const publicRead = (grants ?? []).some(
    (grant) => grant.Grantee?.URI === ALL_USERS_URI && (grant.Permission === 'READ' || grant.Permission === 'FULL_CONTROL'),
  );
  return publicRead ? 'public' : 'private';
}
