import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { mountsDir } from '../fuse/pidfile.js';

/**
 * Longest path a unix socket can be bound to on Linux: sun_path holds 108
 * bytes, one of them the terminating NUL.
 */
export const MAX_SOCKET_PATH_BYTES = 107;

/**
 * The control socket of the mount at `mountpoint` (absolute, resolved):
 * beside its pid file, `<cache dir>/mounts/<encodeURIComponent(mountpoint)>.sock`.
 * When that path is longer than a unix socket path may be (107 bytes), it is
 * `<cache dir>/mounts/<first 16 hex digits of sha1(mountpoint)>.sock` instead,
 * so deep mountpoints and long cache folders still get a socket. Daemon and
 * CLI both call this, so they always agree. A cache folder so deep that even
 * the short name does not fit gives a path the server will fail to bind
 * (EINVAL from listen, naming the path).
 */
export function controlSocketPath(cacheDir: string, mountpoint: string): string {
  const dir = mountsDir(cacheDir);
  const readable = join(dir, `${encodeURIComponent(mountpoint)}.sock`);
  if (Buffer.byteLength(readable, 'utf8') <= MAX_SOCKET_PATH_BYTES) return readable;
  const hash = createHash('sha1').update(mountpoint, 'utf8').digest('hex').slice(0, 16);
  return join(dir, `${hash}.sock`);
}
