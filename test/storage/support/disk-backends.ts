import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLocalDriver } from '../../../src/drivers/local/index.js';
import { MemoryDriver } from '../../../src/drivers/memory/index.js';
import type { StorageDriver } from '../../../src/drivers/types.js';

/** The URL base and signing key the test drivers are given. */
export const TEST_URL = 'http://127.0.0.1:9/files';
export const TEST_SIGNING_KEY = 'disk-facade-test-signing-key';

/** A fast backend for Disk facade tests: makes fresh drivers, cleans up after itself. */
export interface DiskBackend {
  name: string;
  create(): Promise<StorageDriver>;
  cleanup(): Promise<void>;
}

/** Memory drivers with URLs and a signing key. */
export function memoryBackend(): DiskBackend {
  return {
    name: 'memory',
    async create() {
      return new MemoryDriver({ url: TEST_URL, signingKey: TEST_SIGNING_KEY, diskName: 'memory' });
    },
    async cleanup() {},
  };
}

/** Local drivers, each in a fresh temporary folder, with URLs and a signing key. */
export function localBackend(): DiskBackend {
  const roots: string[] = [];
  return {
    name: 'local',
    async create() {
      const root = await mkdtemp(join(tmpdir(), 'storaged-disk-test-'));
      roots.push(root);
      return createLocalDriver({ driver: 'local', root, url: TEST_URL }, { diskName: 'local', signingKey: TEST_SIGNING_KEY });
    },
    async cleanup() {
      await Promise.all(roots.map((root) => rm(root, { recursive: true, force: true })));
    },
  };
}

/** Wraps a driver so tests can count the list() requests a listing makes (the real driver does the work). */
export function countingLists(driver: StorageDriver): { driver: StorageDriver; lists: () => number } {
  let lists = 0;
  const counted = Object.create(driver) as StorageDriver;
  counted.list = async (dir, options) => {
    lists++;
    return driver.list(dir, options);
  };
  return { driver: counted, lists: () => lists };
}
