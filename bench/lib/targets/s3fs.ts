import { chmod, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { S3RVER_KEY, S3RVER_SECRET } from '../../../test/support/servers/s3rver.js';
import { fuseMount } from '../mounts.js';
import { run, startDaemon } from '../proc.js';
import { newMountPoint } from './cache-dirs.js';
import type { Target, TargetEnvironment } from './types.js';

/**
 * `s3fs BUCKET MNT -f` (foreground, so the bench owns its pid) on the shared
 * s3rver: path-style requests, the key in a mode-600 passwd file, no local
 * disk cache (s3fs's default), everything else default. A mount may be
 * given another endpoint (a proxy in front of the same s3rver).
 */
export function s3fsTarget(env: TargetEnvironment): Target {
  const passwdFile = join(env.workDir, 's3fs.passwd');
  const childEnv = { ...process.env };
  delete childEnv.AWS_CA_BUNDLE;
  return {
    name: 's3fs',
    usesBucket: true,
    version: async () => (await run('s3fs', ['--version'], { captureStdout: true })).stdout.split('\n')[0]!.trim(),
    async mount(bucket, { endpoint }) {
      await writeFile(passwdFile, `${S3RVER_KEY}:${S3RVER_SECRET}\n`, { mode: 0o600 });
      await chmod(passwdFile, 0o600);
      const dir = await newMountPoint(env.workDir, 's3fs');
      const args = [bucket, dir, '-f', '-o', `url=${endpoint ?? env.endpoint}`, '-o', 'use_path_request_style', '-o', `passwd_file=${passwdFile}`, '-o', 'dbglevel=warn'];
      return fuseMount(() => startDaemon('s3fs', args, childEnv), dir);
    },
  };
}
