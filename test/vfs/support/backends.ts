import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { parseConfig, type StoragedConfig } from '../../../src/core/config/loader.js';
import { createDriver } from '../../../src/drivers/registry.js';
import type { StorageDriver } from '../../../src/drivers/types.js';
import { startS3rver, S3RVER_KEY, S3RVER_SECRET, type S3rver } from '../../support/servers/s3rver.js';

/** The disk name every VFS test config uses. */
export const DISK = 'disk';

/** Which backend a suite run uses. */
export type BackendKind = 'local' | 's3';

/** A backend with a config.yaml for one disk on it, and a driver of its own for checking the objects. */
export interface Backend {
  readonly kind: BackendKind;
  /** config.yaml text: one disk named DISK, cache in a temp folder. */
  readonly configText: string;
  /** Folder the config's relative paths resolve against (the temp folder). */
  readonly baseDir: string;
  /** The cache folder of the config (delete it for a cold remount). */
  readonly cacheDir: string;
  /** The parsed config. */
  config(): StoragedConfig;
  /**
   * The longest name (UTF-8 bytes) the backend itself can hold: 255 on local;
   * s3rver keeps each object as a file named after its key plus a suffix, and
   * fails (and dies) on names above about 235 bytes: 230 there.
   */
  readonly longestName: number;
  /** A driver on the same disk, owned by the test (not the VFS's). */
  readonly driver: StorageDriver;
  /** Stops servers, closes the driver, removes temp folders. */
  stop(): Promise<void>;
}

/** Mount settings of the tests: small blocks so that offsets cross block boundaries. */
const MOUNT_SECTION = `mount: { block_size: 64KiB, read_ahead: 256KiB, refresh_ttl: 60, attr_timeout: 1, entry_timeout: 1 }`;

/** Reads a whole stream (tests only: small objects). */
export async function streamToBuffer(stream: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of stream) parts.push(Buffer.from(chunk as Uint8Array));
  return Buffer.concat(parts);
}

/**
 * Starts what `kind` needs (a temp folder; s3rver with a fresh bucket for s3,
 * ACLs off as on MinIO-like stores) and writes the config for one disk.
 */
export async function startBackend(kind: BackendKind): Promise<Backend> {
  const baseDir = await mkdtemp(join(tmpdir(), `storaged-vfs-${kind}-`));
  const cacheDir = join(baseDir, 'cache');
  let s3: S3rver | undefined;
  let diskLine: string;
  if (kind === 'local') {
    await mkdir(join(baseDir, 'root'));
    diskLine = `${DISK}: { driver: local, root: ${join(baseDir, 'root')} }`;
  } else {
    s3 = await startS3rver();
    const bucket = await s3.createBucket();
    diskLine = `${DISK}: { driver: s3, bucket: ${bucket}, endpoint: ${s3.endpoint}, path_style: true, acl: false, key: ${S3RVER_KEY}, secret: ${S3RVER_SECRET}, timeout: 30 }`;
  }
  const configText = `default: ${DISK}\ncache: { dir: ${cacheDir}, max_size: 1GiB }\n${MOUNT_SECTION}\ndisks:\n  ${diskLine}\n`;
  const config = () => parseConfig(configText, join(baseDir, 'config.yaml'), baseDir, {});
  const driver = await createDriver(config().disks[DISK]!, { diskName: DISK });
  return {
    kind,
    configText,
    baseDir,
    cacheDir,
    longestName: kind === 's3' ? 230 : 255,
    config,
    driver,
    async stop() {
      await driver.close();
      await s3?.stop();
      await rm(baseDir, { recursive: true, force: true });
    },
  };
}
