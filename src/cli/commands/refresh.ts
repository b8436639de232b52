import { isAbsolute, relative, resolve, sep } from 'node:path';
import type { Command } from 'commander';
import { FsError } from '../../core/errors.js';
import { normalizeDirectory } from '../../core/paths.js';
import { controlSocketPath } from '../../http/control-paths.js';
import type { CliContext } from '../context.js';
import { requestRefresh } from '../control-client.js';

/**
 * Registers `storaged refresh <mountpoint> [path]`: asks the mount to list
 * `path` (a folder or file, everything below a folder; default the whole
 * mount) from the backend now instead of waiting for the refresh TTL, and
 * waits until it has. `path` is relative to the mountpoint; an absolute path
 * inside the mount is accepted, one outside it is EINVAL.
 */
export function registerRefreshCommand(program: Command, ctx: CliContext): void {
  program
    .command('refresh')
    .description('pick up changes other writers made in the bucket now, instead of after the refresh TTL')
    .argument('<mountpoint>', 'the mounted folder')
    .argument('[path]', 'a folder or file in the mount, relative to the mountpoint (default: all of it)')
    .action(async (mountpoint: string, path: string | undefined) => {
      const mount = resolve(mountpoint);
      const key = mountRelativeKey(mount, path ?? '');
      await requestRefresh(controlSocketPath(ctx.config.cache.dir, mount), key, { mountpoint: mount });
      process.stderr.write(`refreshed ${key === '' ? mount : `${mount}/${key}`}\n`);
    });
}

/**
 * The key (relative to the mount root, '' for the root) of `path`, which is
 * relative to the mountpoint `mount` or absolute inside it. FsError EINVAL
 * for a path outside the mount (an absolute one elsewhere, or '..' that
 * climbs out).
 */
export function mountRelativeKey(mount: string, path: string): string {
  let inside = path;
  if (isAbsolute(path)) {
    inside = relative(mount, resolve(path));
    if (inside === '..' || inside.startsWith(`..${sep}`) || isAbsolute(inside)) {
      throw new FsError('EINVAL', `'${path}' is not inside the mount at '${mount}'`, { path, op: 'refresh' });
    }
  }
  try {
    return normalizeDirectory(inside);
  } catch (err) {
    if (err instanceof FsError) throw new FsError(err.code, `'${path}' is not inside the mount at '${mount}': ${err.message}`, { path, op: 'refresh', cause: err });
    throw err;
  }
}
