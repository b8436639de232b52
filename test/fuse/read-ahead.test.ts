import { existsSync } from 'node:fs';
import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { deviceOf, KERNEL_READ_AHEAD_KIB, setKernelReadAhead } from '../../src/fuse/read-ahead.js';
import { forceUnmount, startMountProcess } from './support/mount-process.js';

/** Writing /sys/class/bdi needs root; mounting needs /dev/fuse. */
const canMountAsRoot = existsSync('/dev/fuse') && process.getuid?.() === 0;

const MOUNTINFO = [
  '22 1 0:21 / /proc rw,nosuid shared:5 - proc proc rw',
  '40 22 0:39 / /tmp/with\\040space rw,nosuid shared:20 - fuse.storaged storaged:s3 rw,user_id=0',
  '41 22 0:40 / /tmp/mnt rw shared:21 - fuse.storaged storaged:a rw',
  '42 41 0:52 / /tmp/mnt rw shared:22 - fuse.storaged storaged:b rw',
  '',
].join('\n');

describe('kernel read-ahead of a mount', () => {
  let dir: string;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'storaged-read-ahead-'));
  });

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('finds the device of the topmost mount at a path, escapes decoded', () => {
    expect(deviceOf(MOUNTINFO, '/tmp/with space')).toBe('0:39');
    expect(deviceOf(MOUNTINFO, '/tmp/mnt')).toBe('0:52');
    expect(deviceOf(MOUNTINFO, '/tmp/none')).toBeUndefined();
  });

  it("writes read_ahead_kb of the mount's device, and reports false when it cannot", async () => {
    const mountinfo = join(dir, 'mountinfo');
    await writeFile(mountinfo, MOUNTINFO);
    await mkdir(join(dir, 'bdi', '0:52'), { recursive: true });
    expect(await setKernelReadAhead('/tmp/mnt', 1024, { bdiRoot: join(dir, 'bdi'), mountinfo })).toBe(true);
    expect(await readFile(join(dir, 'bdi', '0:52', 'read_ahead_kb'), 'utf8')).toBe('1024\n');
    // No such device folder (or no permission): nothing happens, no error.
    expect(await setKernelReadAhead('/tmp/with space', 1024, { bdiRoot: join(dir, 'bdi'), mountinfo })).toBe(false);
    expect(await setKernelReadAhead('/tmp/none', 1024, { bdiRoot: join(dir, 'bdi'), mountinfo })).toBe(false);
  });

  it.skipIf(!canMountAsRoot)('a mount made as root gets KERNEL_READ_AHEAD_KIB', { timeout: 60_000 }, async () => {
    const mnt = join(dir, 'mnt');
    const served = await startMountProcess(mnt);
    try {
      expect(served.outcome).toMatchObject({ type: 'mounted' });
      const device = deviceOf(await readFile('/proc/self/mountinfo', 'utf8'), mnt);
      expect(device).toMatch(/^\d+:\d+$/);
      expect(await readFile(`/sys/class/bdi/${device}/read_ahead_kb`, 'utf8')).toBe(`${KERNEL_READ_AHEAD_KIB}\n`);
    } finally {
      await served.stop();
      await forceUnmount(mnt);
    }
  });
});
