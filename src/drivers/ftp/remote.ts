import type { Client } from 'basic-ftp';
import { FsError, type FsErrorCode } from '../../core/errors.js';
import type { EntryType } from '../types.js';
import { isFtpReply } from './errors.js';
import { toFolderEntries, type FolderEntry } from './listing.js';

/**
 * Maps normalized keys to absolute paths on the server under the disk's
 * root folder. Absolute paths keep commands independent of each client's
 * working directory and never start with a space (which FTP servers trim).
 */
export class RemoteRoot {
  /** The root as an absolute server path without a trailing slash ('/' for the server root). */
  readonly root: string;
  private readonly segments: string[];

  constructor(root: string, diskName: string) {
    const segments = root.split('/').filter((s) => s !== '' && s !== '.');
    if (segments.includes('..')) {
      throw new FsError('EINVAL', `ftp disk '${diskName}': root '${root}' must not contain '..'`, { op: 'config' });
    }
    this.segments = segments;
    this.root = '/' + segments.join('/');
  }

  /** Absolute server path of a normalized key ('' is the root itself). */
  path(key: string): string {
    if (key === '') return this.root;
    return this.root === '/' ? `/${key}` : `${this.root}/${key}`;
  }

  /** Absolute paths of every folder from the server's top down to `key` (root's own ancestors included). */
  chain(key: string): string[] {
    const all = [...this.segments, ...(key === '' ? [] : key.split('/'))];
    return all.map((_, i) => '/' + all.slice(0, i + 1).join('/'));
  }
}

/** What `abs` names on the server: SIZE answers for files, CWD for directories; null when neither. */
export async function probe(client: Client, abs: string): Promise<EntryType | null> {
  try {
    await client.size(abs);
    return 'file';
  } catch (err) {
    if (!isFtpReply(err, 550)) throw err;
  }
  try {
    await client.cd(abs);
    return 'directory';
  } catch (err) {
    if (!isFtpReply(err, 550)) throw err;
    return null;
  }
}

/**
 * Makes `key` a directory, creating missing parents (MKD per level, the
 * fast path being one MKD). Rejects with `onFile` when `key` itself is a
 * file, ENOTDIR when a parent is, and EACCES when the server refuses.
 */
export async function ensureDirectory(client: Client, remote: RemoteRoot, key: string, onFile: FsErrorCode): Promise<void> {
  const target = remote.path(key);
  if (await makeDirectory(client, target)) return;
  const kind = await probe(client, target);
  if (kind === 'directory') return;
  if (kind === 'file') throw new FsError(onFile, `'${key}' is a file, not a directory`, { path: key, op: 'mkdir' });
  const chain = remote.chain(key);
  for (const folder of chain) await makeDirectory(client, folder);
  if ((await probe(client, target)) === 'directory') return;
  for (const folder of chain) {
    if ((await probe(client, folder)) === 'file') {
      throw new FsError('ENOTDIR', `'${key}': the parent '${folder}' on the server is a file`, { path: key, op: 'mkdir' });
    }
  }
  throw new FsError('EACCES', `'${key}': the FTP server refused to create '${target}'`, { path: key, op: 'mkdir' });
}

/** MKD; true when created, false when the server refused (exists, no parent, no permission). */
async function makeDirectory(client: Client, abs: string): Promise<boolean> {
  try {
    await client.send(`MKD ${abs}`);
    return true;
  } catch (err) {
    if (isFtpReply(err, 550, 553, 521)) return false;
    throw err;
  }
}

/**
 * The folder's entries (CWD into it, then a bare LIST, so names with glob
 * characters are never expanded by the server), or null when it is not a
 * directory.
 */
export async function readFolder(client: Client, abs: string, includeInternal = false): Promise<FolderEntry[] | null> {
  try {
    await client.cd(abs);
  } catch (err) {
    if (isFtpReply(err, 550)) return null;
    throw err;
  }
  return toFolderEntries(await client.list(), includeInternal);
}

/**
 * Deletes everything below the directory `abs` (temp files of unfinished
 * uploads included), and `abs` itself when `removeSelf`. Entries that vanish
 * meanwhile are fine; a directory that refills meanwhile is ENOTEMPTY.
 */
export async function removeTree(client: Client, abs: string, removeSelf: boolean): Promise<void> {
  const entries = (await readFolder(client, abs, true)) ?? [];
  for (const entry of entries) {
    const child = abs === '/' ? `/${entry.name}` : `${abs}/${entry.name}`;
    if (entry.type === 'directory') await removeTree(client, child, true);
    else await ignoreMissing(() => client.remove(child));
  }
  if (!removeSelf) return;
  try {
    await client.send(`RMD ${abs}`);
  } catch (err) {
    if (!isFtpReply(err, 550)) throw err;
    const kind = await probe(client, abs);
    if (kind === null) return;
    throw new FsError('ENOTEMPTY', `'${abs}' on the FTP server could not be removed (new entries appeared?)`, { path: abs, op: 'rmdir', cause: err });
  }
}

async function ignoreMissing(action: () => Promise<unknown>): Promise<void> {
  try {
    await action();
  } catch (err) {
    if (!isFtpReply(err, 550)) throw err;
  }
}
