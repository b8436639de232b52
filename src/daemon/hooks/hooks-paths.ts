import { join } from 'node:path';

/** File name of the hooks database inside its folder. */
export const HOOKS_DB_FILE = 'hooks.db';
/** The folder (inside the cache folder) of the engine running the local watched folders. */
export const LOCAL_WATCHES_DIR = 'local-watches';

/**
 * The folder whose hooks.db holds the jobs and metadata of a watch: a
 * folder of a disk keeps them in the disk's cache folder (locked by the
 * process mounting it, so one engine owns them), local folders in
 * `<cache dir>/local-watches`.
 */
export function hooksDirectory(cacheDir: string, watch: { disk?: string | undefined }): string {
  return join(cacheDir, watch.disk ?? LOCAL_WATCHES_DIR);
}
