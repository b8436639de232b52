import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/core/logger.js';
import { findMount, probeMount } from '../../src/fuse/mountinfo.js';
import { prepareMountpoint } from '../../src/fuse/mountpoint.js';
import { forceUnmount, startMountProcess, type MountProcess } from './support/mount-process.js';

const canMount = existsSync('/dev/fuse');

describe.skipIf(!canMount)('mount lifecycle', { timeout: 90_000 }, () => {
  const temp = mkdtempSync(join(tmpdir(), 'storaged-fuse-life-'));
  const started: MountProcess[] = [];
  const mountpoints: string[] = [];
  let counter = 0;

  /** A fresh mountpoint path for one test. */
  const freshMountpoint = () => {
    const path = join(temp, `mnt${counter++}`);
    mountpoints.push(path);
    return path;
  };
  const start = async (mountpoint: string) => {
    const served = await startMountProcess(mountpoint);
    started.push(served);
    return served;
  };

  afterEach(async () => {
    for (const served of started.splice(0)) await served.stop('SIGKILL');
    for (const path of mountpoints.splice(0)) await forceUnmount(path);
  });

  afterAll(() => rmSync(temp, { recursive: true, force: true }));

  it('creates a missing mountpoint and unmounts cleanly on SIGTERM', async () => {
    const mnt = join(freshMountpoint(), 'nested');
    mountpoints.push(mnt);
    const served = await start(mnt);
    expect(served.outcome.type).toBe('mounted');
    await fs.writeFile(join(mnt, 'f'), 'data');
    expect(await served.stop('SIGTERM')).toBe(0);
    expect(await findMount(mnt)).toBeUndefined();
    expect(await fs.readdir(mnt)).toEqual([]);
  });

  it('detaches lazily when files are still open at unmount', async () => {
    const mnt = freshMountpoint();
    const served = await start(mnt);
    const handle = await fs.open(join(mnt, 'open.txt'), 'w');
    try {
      expect(await served.stop('SIGTERM')).toBe(0);
      expect(served.stderr()).toContain('detached lazily');
      expect(await findMount(mnt)).toBeUndefined();
    } finally {
      await handle.close().catch(() => undefined);
    }
  });

  it('cleans a stale mount left by a killed process, then mounts again', async () => {
    const mnt = freshMountpoint();
    const first = await start(mnt);
    await fs.writeFile(join(mnt, 'before-crash'), 'x');
    await first.stop('SIGKILL');
    expect(await probeMount(mnt)).toBe('dead');
    expect(await findMount(mnt)).toMatchObject({ fstype: 'fuse.storaged' });

    const second = await start(mnt);
    expect(second.outcome.type).toBe('mounted');
    expect(second.stderr()).toContain('cleaned a stale mount');
    await fs.writeFile(join(mnt, 'after'), 'ok');
    expect(await fs.readdir(mnt)).toEqual(['after']);
  });

  it('refuses a live mount with EBUSY and leaves it serving', async () => {
    const mnt = freshMountpoint();
    const first = await start(mnt);
    await fs.writeFile(join(mnt, 'kept'), 'still here');
    const second = await start(mnt);
    expect(second.outcome).toMatchObject({ type: 'error', code: 'EBUSY' });
    expect(second.outcome.type === 'error' && second.outcome.message).toContain(mnt);
    expect(await fs.readFile(join(mnt, 'kept'), 'utf8')).toBe('still here');
    expect(await first.stop('SIGTERM')).toBe(0);
  });

  it('refuses a mountpoint that is a non-empty folder or a file', async () => {
    const logger = createLogger('test', 'silent');
    const folder = freshMountpoint();
    mkdirSync(folder);
    writeFileSync(join(folder, 'precious'), 'x');
    await expect(prepareMountpoint(folder, logger)).rejects.toMatchObject({ code: 'ENOTEMPTY' });
    const file = join(temp, 'a-file');
    writeFileSync(file, 'x');
    await expect(prepareMountpoint(file, logger)).rejects.toMatchObject({ code: expect.stringMatching(/^(ENOTDIR|EEXIST)$/) });
  });
});
