import { randomBytes } from 'node:crypto';
import type { Client } from 'basic-ftp';
import { FsError } from '../../core/errors.js';
import { parentKey } from '../../core/paths.js';
import { isFtpReply } from './errors.js';
import { TEMP_PREFIX } from './listing.js';
import { ensureDirectory, probe, type RemoteRoot } from './remote.js';
import type { CountingStream } from './transfer.js';

/** A hidden, unique temp path in the folder of `key`, for an upload in flight (short: fits beside a 255-byte name). */
export function tempPathFor(remote: RemoteRoot, key: string): string {
  const folderAbs = remote.path(parentKey(key));
  return `${folderAbs === '/' ? '' : folderAbs}/${TEMP_PREFIX}${randomBytes(8).toString('hex')}`;
}

/**
 * Uploads `body` to `tempAbs` (creating the parents when the server says the
 * folder is missing, which it does before any byte is sent), then renames
 * it onto `key`: readers see the old file or the whole new one, never a
 * part. The caller removes the temp file when this rejects.
 */
export async function uploadAtomically(client: Client, remote: RemoteRoot, key: string, body: CountingStream, tempAbs: string): Promise<void> {
  try {
    await client.uploadFrom(body, tempAbs);
  } catch (err) {
    if (!isFtpReply(err, 553, 550) || body.consumed) throw err;
    await ensureDirectory(client, remote, parentKey(key), 'ENOTDIR');
    await client.uploadFrom(body, tempAbs);
  }
  await renameOnto(client, remote, tempAbs, key, key);
}

/**
 * RNFR/RNTO `fromAbs` onto `key`, replacing a file there (vsftpd renames
 * with rename(2), which replaces atomically). Creates missing parents;
 * EISDIR when `key` is a directory. `shownPath` names the caller's path in
 * messages.
 */
export async function renameOnto(client: Client, remote: RemoteRoot, fromAbs: string, key: string, shownPath: string): Promise<void> {
  const targetAbs = remote.path(key);
  try {
    await client.rename(fromAbs, targetAbs);
    return;
  } catch (err) {
    if (!isFtpReply(err, 550, 553)) throw err;
    const kind = await probe(client, targetAbs);
    if (kind === 'directory') throw isDirectory(shownPath, 'rename');
    if (kind === 'file') throw err;
  }
  await ensureDirectory(client, remote, parentKey(key), 'ENOTDIR');
  await client.rename(fromAbs, targetAbs);
}

/** The EISDIR error for `op` on `path`. */
export function isDirectory(path: string, op: string): FsError {
  return new FsError('EISDIR', `${op} '${path}': is a directory`, { path, op });
}
