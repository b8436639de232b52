import { readdir, unlink } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { fromSystemError } from '../../core/errors.js';

/** The name steps/files.ts temporarySibling gives a file being written: `.<name>.<8 hex>.tmp`. */
const TEMPORARY_NAME = /^\..+\.[0-9a-f]{8}\.tmp$/;

/**
 * Deletes the hidden temporary files (TEMPORARY_NAME) a crash left under
 * `root` (a durable write is a temporary file renamed into place: one cut
 * short never became the file). Only for a folder no other process writes
 * into that way (the engine holds its lock). Resolves to the paths removed,
 * relative to `root`; a folder that is gone is fine; other failures reject
 * with FsError.
 */
export async function removeTemporaryLeftovers(root: string): Promise<string[]> {
  const removed: string[] = [];
  let entries;
  try {
    entries = await readdir(root, { recursive: true, withFileTypes: true });
  } catch (err) {
    if ((err as { code?: unknown }).code === 'ENOENT') return removed;
    throw fromSystemError(err, { path: root, op: 'readdir' });
  }
  for (const entry of entries) {
    if (!entry.isFile() || !TEMPORARY_NAME.test(entry.name)) continue;
    const path = join(entry.parentPath, entry.name);
    try {
      await unlink(path);
      removed.push(relative(root, path));
    } catch (err) {
      if ((err as { code?: unknown }).code !== 'ENOENT') throw fromSystemError(err, { path, op: 'unlink' });
    }
  }
  return removed;
}
