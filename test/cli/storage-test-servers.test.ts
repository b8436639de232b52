import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildCli, hasStackTrace, type CliRunner } from '../support/cli.js';
import { startAzurite, AZURITE_ACCOUNT, AZURITE_KEY, type Azurite } from '../support/servers/azurite.js';
import { startGcsEmulator, type GcsEmulator } from '../support/servers/gcs-emulator.js';
import { startS3rver, S3RVER_KEY, S3RVER_SECRET, type S3rver } from '../support/servers/s3rver.js';
import { startVsftpd, type VsftpdServer } from '../support/servers/vsftpd.js';

/**
 * `storaged storage:test` against a config.yaml that points at every real
 * test server at once (s3rver, azurite, the GCS emulator, vsftpd) plus a
 * local folder: one OK line per disk and exit 0. Then the same disks with
 * their servers stopped: one FAIL line each, with a code, never a stack.
 */
const temp = mkdtempSync(join(tmpdir(), 'storaged-cli-servers-'));
const configPath = join(temp, 'config.yaml');
let storaged: CliRunner;
let s3: S3rver | undefined;
let azurite: Azurite | undefined;
let gcs: GcsEmulator | undefined;
let ftp: VsftpdServer | undefined;

beforeAll(async () => {
  [storaged, s3, azurite, gcs, ftp] = await Promise.all([buildCli(temp), startS3rver(), startAzurite(), startGcsEmulator(), startVsftpd()]);
  const bucket = await s3.createBucket();
  const container = await azurite.createContainer();
  writeFileSync(
    configPath,
    `default: files
cache: { dir: cache }
disks:
  files: { driver: local, root: app }
  s3: { driver: s3, bucket: ${bucket}, endpoint: ${s3.endpoint}, path_style: true, key: ${S3RVER_KEY}, secret: ${S3RVER_SECRET}, max_attempts: 1, timeout: 5 }
  azure: { driver: azure, container: ${container}, account_name: ${AZURITE_ACCOUNT}, account_key: "\${AZURE_KEY}", endpoint: ${azurite.endpoint}, timeout: 5 }
  gcs: { driver: gcs, bucket: probe-bucket, project_id: ${gcs.projectId}, key_file: ${gcs.keyFile}, endpoint: ${gcs.endpoint}, timeout: 5 }
  ftp: { driver: ftp, host: 127.0.0.1, port: ${ftp.port}, root: ${ftp.writableRoot}/probe, timeout: 5 }
`,
  );
}, 180_000);

afterAll(async () => {
  await Promise.all([s3?.stop(), azurite?.stop(), gcs?.stop(), ftp?.destroy()]);
  rmSync(temp, { recursive: true, force: true });
});

describe('storaged storage:test on the real test servers', { timeout: 120_000 }, () => {
  it('prints OK for every disk and exits 0', async () => {
    const run = await storaged(['storage:test', '--config', configPath], { env: { AZURE_KEY: AZURITE_KEY } });
    const lines = run.stdout.split('\n').filter(Boolean);
    expect(run.stderr, run.stderr).toBe('');
    expect(lines.map((l) => l.split(/\s+/).slice(0, 2).join(' '))).toEqual(['OK files', 'OK s3', 'OK azure', 'OK gcs', 'OK ftp']);
    expect(run.code).toBe(0);
  });

  it('prints one FAIL line with an errno code per unreachable disk, and exits 1', async () => {
    await Promise.all([s3!.stop(), azurite!.stop(), gcs!.stop(), ftp!.stop()]);
    const run = await storaged(['storage:test', '--config', configPath], { env: { AZURE_KEY: AZURITE_KEY } });
    const lines = run.stdout.split('\n').filter(Boolean);
    expect(lines[0]).toMatch(/^OK\s+files/);
    for (const [i, disk] of ['s3', 'azure', 'gcs', 'ftp'].entries()) {
      expect(lines[i + 1]).toMatch(new RegExp(`^FAIL\\s+${disk}\\s.*\\b(ECONNREFUSED|ETIMEDOUT|EIO|EHOSTUNREACH)\\b`));
    }
    expect(lines).toHaveLength(5);
    expect(hasStackTrace(run.stdout + run.stderr), run.stdout + run.stderr).toBe(false);
    expect(run.code).toBe(1);
  });
});
