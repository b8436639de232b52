import { execFile } from 'node:child_process';
import { copyFile, mkdir, symlink, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { DiskStatus } from '../../../src/daemon/status.js';
import { S3RVER_KEY, S3RVER_REGION, S3RVER_SECRET } from '../../../test/support/servers/s3rver.js';
import { fuseMount } from '../mounts.js';
import { run, startDaemon } from '../proc.js';
import { CacheDirs, newMountPoint } from './cache-dirs.js';
import type { Target, TargetEnvironment } from './types.js';

/** The repository root. */
const repoRoot = resolve(import.meta.dirname, '../../..');

/**
 * The storaged CLI to benchmark: `explicit` when given (e.g. dist/cli/main.js
 * after `npm run build`), otherwise src/ compiled by tsc into the run's own
 * scratch folder (dist/ is left alone). Throws when the CLI has no working
 * `mount` command yet, so the caller can report storaged as pending.
 */
export async function prepareStoragedCli(workDir: string, explicit?: string): Promise<string> {
  let mainJs: string;
  if (explicit) {
    mainJs = resolve(explicit);
    if (!existsSync(mainJs)) throw new Error(`--storaged-cli ${mainJs} does not exist`);
  } else {
    const build = join(workDir, 'storaged-build');
    mainJs = join(build, 'dist/cli/main.js');
    await mkdir(build, { recursive: true });
    await copyFile(join(repoRoot, 'package.json'), join(build, 'package.json'));
    if (!existsSync(join(build, 'node_modules'))) await symlink(join(repoRoot, 'node_modules'), join(build, 'node_modules'));
    const tsc = join(repoRoot, 'node_modules/.bin/tsc');
    const args = ['-p', 'tsconfig.build.json', '--outDir', join(build, 'dist'), '--declaration', 'false', '--sourceMap', 'false'];
    const output = await new Promise<string>((done) => execFile(tsc, args, { cwd: repoRoot, maxBuffer: 16 * 2 ** 20 }, (_e, out, err) => done(out + err)));
    if (!existsSync(mainJs)) throw new Error(`tsc did not emit ${mainJs}:\n${output.slice(-3000)}`);
  }
  const help = await run(process.execPath, [mainJs, '--help'], { captureStdout: true, timeoutMs: 60_000 }).then(
    (r) => r.stdout,
    (err: Error) => err.message,
  );
  if (!/^ +mount\b/m.test(help)) throw new Error(`storaged has no 'mount' command yet (\`${mainJs} --help\` lists none)`);
  return mainJs;
}

/**
 * `storaged mount s3 MNT --config CFG` in the foreground, with one s3 disk
 * on the shared s3rver (path style, acl off as s3rver needs), rclone's
 * write-back delay (5 s; storaged's own default is 2 s), and the cache
 * (index + blocks) in a per-volume folder that a remount reuses. A mount
 * may be given another endpoint (a proxy in front of the same s3rver); its
 * Mounted gives the cache folder and `storaged status --json` of the mount.
 */
export function storagedTarget(env: TargetEnvironment, mainJs: string): Target {
  const caches = new CacheDirs(env.workDir, 'storaged');
  return {
    name: 'storaged',
    usesBucket: true,
    version: async () => {
      const quiet = (command: string, args: string[]) =>
        run(command, args, { captureStdout: true, timeoutMs: 60_000 }).then((r) => r.stdout.trim(), () => '?');
      const version = await quiet(process.execPath, [mainJs, '--version']);
      const commit = await quiet('git', ['-C', repoRoot, 'rev-parse', '--short', 'HEAD']);
      const dirty = (await quiet('git', ['-C', repoRoot, 'status', '--porcelain', '--', 'src'])) !== '';
      return `storaged ${version}, commit ${commit}${dirty ? ' + uncommitted changes in src/' : ''}`;
    },
    async mount(bucket, { freshCache, endpoint }) {
      const cache = await caches.get(bucket, freshCache);
      const config = `${cache}.yaml`;
      await writeFile(
        config,
        [
          'default: s3',
          `cache: { dir: ${JSON.stringify(cache)}, max_size: 20GiB }`,
          // rclone's write-back delay (its --vfs-write-back default, 5 s after close): both tools start uploading equally late.
          'write_back: { delay: 5 }',
          'disks:',
          `  s3: { driver: s3, bucket: ${bucket}, endpoint: ${JSON.stringify(endpoint ?? env.endpoint)}, region: ${S3RVER_REGION}, path_style: true, key: ${S3RVER_KEY}, secret: ${S3RVER_SECRET}, acl: false }`,
          '',
        ].join('\n'),
      );
      const dir = await newMountPoint(env.workDir, 'storaged');
      const args = [mainJs, 'mount', 's3', dir, '--config', config];
      const status = async (): Promise<DiskStatus[]> => {
        const { stdout } = await run(process.execPath, [mainJs, '--config', config, 'status', dir, '--json'], { captureStdout: true, timeoutMs: 60_000 });
        return JSON.parse(stdout) as DiskStatus[];
      };
      return fuseMount(() => startDaemon(process.execPath, args, { ...process.env, STORAGED_DEBUG: '' }), dir, { cacheDir: cache, status });
    },
  };
}
