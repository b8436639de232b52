import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { S3RVER_KEY, S3RVER_REGION, S3RVER_SECRET } from '../../../test/support/servers/s3rver.js';
import { fuseMount } from '../mounts.js';
import { run, startDaemon } from '../proc.js';
import { CacheDirs, newMountPoint } from './cache-dirs.js';
import type { Target, TargetEnvironment } from './types.js';

/**
 * `rclone mount :s3:BUCKET MNT --vfs-cache-mode full` with an on-the-fly S3
 * remote (provider Other, path style) on the shared s3rver. AWS_CA_BUNDLE is
 * unset for it: rclone's S3 backend fails with it set against plain http.
 * Everything else is rclone's default (so writes are uploaded in the
 * background, --vfs-write-back 5s after close). A mount may be given another
 * endpoint (a proxy in front of the same s3rver).
 */
export function rcloneTarget(env: TargetEnvironment): Target {
  const caches = new CacheDirs(env.workDir, 'rclone');
  const emptyConfig = join(env.workDir, 'rclone.conf');
  const childEnv = { ...process.env };
  delete childEnv.AWS_CA_BUNDLE;
  return {
    name: 'rclone',
    usesBucket: true,
    version: async () => (await run('rclone', ['version'], { captureStdout: true })).stdout.split('\n')[0]!.trim(),
    async mount(bucket, { freshCache, endpoint }) {
      await writeFile(emptyConfig, '');
      const cache = await caches.get(bucket, freshCache);
      const dir = await newMountPoint(env.workDir, 'rclone');
      const args = [
        'mount', `:s3:${bucket}`, dir,
        '--config', emptyConfig,
        '--cache-dir', cache,
        '--vfs-cache-mode', 'full',
        '--s3-provider', 'Other',
        '--s3-endpoint', endpoint ?? env.endpoint,
        '--s3-region', S3RVER_REGION,
        '--s3-access-key-id', S3RVER_KEY,
        '--s3-secret-access-key', S3RVER_SECRET,
        '--s3-force-path-style=true',
        '--log-level', 'NOTICE',
      ];
      return fuseMount(() => startDaemon('rclone', args, childEnv), dir, { cacheDir: cache });
    },
  };
}
