import { readdir } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';

/**
 * Every regular file under `root` (hidden ones too), as '/'-separated paths
 * relative to it, sorted; [] when `root` does not exist.
 */
export async function listFiles(root: string): Promise<string[]> {
  let entries;
  try {
    entries = await readdir(root, { recursive: true, withFileTypes: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  return entries
    .filter((entry) => entry.isFile())
    .map((entry) => relative(root, join(entry.parentPath, entry.name)).split(sep).join('/'))
    .sort();
}
