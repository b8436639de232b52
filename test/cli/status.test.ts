import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getStatus, NOT_SERVING, requestRefresh } from '../../src/cli/control-client.js';
import { formatBytes, formatDiskStatus, formatDuration } from '../../src/cli/commands/status.js';
import { mountRelativeKey } from '../../src/cli/commands/refresh.js';
import { FsError } from '../../src/core/errors.js';
import type { DiskControl, DiskStatus } from '../../src/daemon/status.js';
import { mountsDir, pidFilePath, writePidFile } from '../../src/fuse/pidfile.js';
import { controlSocketPath, MAX_SOCKET_PATH_BYTES } from '../../src/http/control-paths.js';
import { startControlServer, type ControlServer } from '../../src/http/control-server.js';
import { buildCli, hasStackTrace, type CliRunner } from '../support/cli.js';

const temp = mkdtempSync(join(tmpdir(), 'storaged-status-'));
const cacheDir = join(temp, 'cache');
const configPath = join(temp, 'config.yaml');
const silent = { debug: () => undefined, warn: () => undefined };
const servers: ControlServer[] = [];

/** A DiskControl that answers a fixed status and records (or fails) refreshes and syncs. */
class FakeControl implements DiskControl {
  readonly refreshed: string[] = [];
  syncs = 0;
  failWith: unknown;
  constructor(readonly current: DiskStatus) {}
  status(): DiskStatus {
    return this.current;
  }
  async refresh(path: string): Promise<void> {
    if (this.failWith !== undefined) throw this.failWith;
    this.refreshed.push(path);
  }
  async sync(): Promise<void> {
    if (this.failWith !== undefined) throw this.failWith;
    this.syncs++;
  }
}

function sampleStatus(mountpoint: string, disk = 'photos'): DiskStatus {
  return {
    disk,
    mountpoint,
    pid: process.pid,
    pending: { operations: 12, uploads: 3, bytes: 4 * 2 ** 20 },
    inFlight: ['albums/a.jpg', 'albums/b.jpg'],
    failing: [{ kind: 'upload', path: 'albums/c.jpg', attempts: 3, code: 'EIO', message: 'connection reset', retryAtMs: Date.now() + 60_000 }],
    totals: { done: 120, retries: 4, uploads: 30, uploadedBytes: 10 * 2 ** 20 },
    cache: { bytes: 1.5 * 2 ** 30, maxBytes: 10 * 2 ** 30, dirtyBytes: 300 * 2 ** 20 },
    dedup: { files: 5, bytesSaved: 2 ** 30, uploadMsSaved: 3200 },
  };
}

async function serve(control: DiskControl, socketPath: string): Promise<ControlServer> {
  const server = await startControlServer(control, socketPath, silent);
  servers.push(server);
  return server;
}

afterAll(async () => {
  for (const server of servers) await server.close().catch(() => undefined);
  rmSync(temp, { recursive: true, force: true });
});

describe('control socket', () => {
  const mountpoint = join(temp, 'mnt-direct');
  const socketPath = controlSocketPath(cacheDir, mountpoint);
  const control = new FakeControl(sampleStatus(mountpoint));

  beforeAll(async () => {
    mkdirSync(mountsDir(cacheDir), { recursive: true });
    writeFileSync(socketPath, 'a stale file left by a crashed mount');
    await serve(control, socketPath);
  });

  it('sits beside the pid file, readable by the owner only, replacing a stale file', () => {
    expect(socketPath).toBe(pidFilePath(cacheDir, mountpoint).replace(/\.pid$/, '.sock'));
    const stat = statSync(socketPath);
    expect(stat.isSocket()).toBe(true);
    expect(stat.mode & 0o777).toBe(0o600);
  });

  it('answers the status as JSON', async () => {
    expect(await getStatus(socketPath)).toEqual(control.current);
  });

  it('refreshes a normalized path and passes the daemon error codes on', async () => {
    await requestRefresh(socketPath, 'albums//2024/');
    await requestRefresh(socketPath, '');
    expect(control.refreshed).toEqual(['albums/2024', '']);
    await expect(requestRefresh(socketPath, '../outside')).rejects.toMatchObject({ code: 'EINVAL' });
    await expect(requestRefresh(socketPath, '/absolute')).rejects.toMatchObject({ code: 'EINVAL' });
    control.failWith = new FsError('ENOENT', "no such directory 'gone'", { path: 'gone' });
    await expect(requestRefresh(socketPath, 'gone')).rejects.toMatchObject({ code: 'ENOENT', message: "no such directory 'gone'" });
    control.failWith = new Error('the index is closed');
    await expect(requestRefresh(socketPath, 'x')).rejects.toMatchObject({ code: 'EIO' });
    control.failWith = undefined;
    expect(control.refreshed).toEqual(['albums/2024', '']);
  });

  it('refuses a second server on a live socket, and nothing answers once closed', async () => {
    await expect(startControlServer(control, socketPath, silent)).rejects.toMatchObject({ code: 'EBUSY' });
    const otherPath = controlSocketPath(cacheDir, join(temp, 'mnt-closing'));
    const closing = await startControlServer(control, otherPath, silent);
    await closing.close();
    await expect(getStatus(otherPath, { mountpoint: '/mnt/closing' })).rejects.toMatchObject({
      code: NOT_SERVING,
      message: 'no storaged mount is serving /mnt/closing',
    });
  });

  it('closes at once even while a refresh is still running', async () => {
    const hanging: DiskControl = { status: () => sampleStatus('/mnt/hanging'), refresh: () => new Promise<void>(() => undefined), sync: async () => undefined };
    const path = controlSocketPath(cacheDir, join(temp, 'mnt-hanging'));
    const server = await startControlServer(hanging, path, silent);
    const pending = requestRefresh(path, 'slow').catch((err: unknown) => err);
    await new Promise((r) => setTimeout(r, 100));
    await server.close();
    expect(await pending).toBeInstanceOf(FsError);
    await expect(getStatus(path)).rejects.toMatchObject({ code: NOT_SERVING });
  });

  it('falls back to a short hashed name when the readable path is too long for a unix socket', async () => {
    const deep = join(temp, 'very-long-folder-name-'.repeat(5), 'mount');
    const path = controlSocketPath(cacheDir, deep);
    expect(Buffer.byteLength(path)).toBeLessThanOrEqual(MAX_SOCKET_PATH_BYTES);
    expect(path).toMatch(new RegExp(`^${mountsDir(cacheDir)}/[0-9a-f]{16}\\.sock$`));
    expect(controlSocketPath(cacheDir, deep)).toBe(path);
    expect(controlSocketPath(cacheDir, `${deep}2`)).not.toBe(path);
    await serve(new FakeControl(sampleStatus(deep)), path);
    expect((await getStatus(path)).mountpoint).toBe(deep);
  });
});

describe('status and refresh helpers', () => {
  it('formats sizes and durations for people', () => {
    expect([0, 1023, 1024, 4.2 * 2 ** 20, 2 ** 30].map(formatBytes)).toEqual(['0 B', '1023 B', '1.0 KiB', '4.2 MiB', '1.0 GiB']);
    expect([350, 3200, 245_000, 7_800_000].map(formatDuration)).toEqual(['350 ms', '3.2 s', '4 min 5 s', '2 h 10 min']);
  });

  it('prints every part of a disk status', () => {
    const status = sampleStatus('/mnt/photos');
    const text = formatDiskStatus(status, status.failing[0]!.retryAtMs - 12_000);
    expect(text).toContain(`disk photos at /mnt/photos (pid ${process.pid})`);
    expect(text).toMatch(/pending\s+12 operations, 3 uploads \(4\.0 MiB\)/);
    expect(text).toMatch(/in flight\s+2: albums\/a\.jpg, albums\/b\.jpg/);
    expect(text).toContain('upload albums/c.jpg: 3 attempts, last error EIO: connection reset; next try in 12.0 s');
    expect(text).toMatch(/totals\s+120 operations done, 4 retries, 30 uploads \(10\.0 MiB\)/);
    expect(text).toMatch(/cache\s+1\.5 GiB of 10\.0 GiB used, 300\.0 MiB dirty/);
    expect(text).toMatch(/dedup\s+5 files, 1\.0 GiB and 3\.2 s of uploads saved/);
  });

  it('prints held uploads and the watched folders with their failing jobs', () => {
    const now = Date.now();
    const counts = { queued: 1, running: 0, done: 7, rejected: 1, quarantined: 2, failed: 0, superseded: 0 };
    const status: DiskStatus = {
      ...sampleStatus('/mnt/photos'),
      held: ['inbox/report.pdf'],
      watches: [
        {
          watch: 'inbox',
          counts,
          running: 0,
          failing: [{ id: 9, path: 'report.pdf', step: 2, attempts: 4, lastError: { code: 'ECONNREFUSED', message: 'clamd is down', atMs: now }, nextAtMs: now + 8000 }],
        },
      ],
    };
    const text = formatDiskStatus(status, now);
    expect(text).toMatch(/held\s+1 waiting for drop-folder checks: inbox\/report\.pdf/);
    expect(text).toMatch(/watch inbox\s+1 queued, 7 done, 1 rejected, 2 quarantined; 0 running/);
    expect(text).toContain('report.pdf: step 2, 4 attempts, last error ECONNREFUSED: clamd is down; next try in 8.0 s');
    // A mount of an older version sends neither: nothing about them is printed.
    expect(formatDiskStatus(sampleStatus('/mnt/photos'), now)).not.toMatch(/held|watch /);
  });

  it('makes refresh paths relative to the mount, refusing paths outside it', () => {
    expect(mountRelativeKey('/mnt/a', 'sub/dir/')).toBe('sub/dir');
    expect(mountRelativeKey('/mnt/a', '/mnt/a/sub/x.txt')).toBe('sub/x.txt');
    expect(mountRelativeKey('/mnt/a', '/mnt/a')).toBe('');
    expect(mountRelativeKey('/mnt/a', '')).toBe('');
    expect(mountRelativeKey('/mnt/a', '..foo')).toBe('..foo');
    for (const outside of ['/mnt/ab', '/mnt', '/etc/passwd', '../a', 'x/../../y']) {
      expect(() => mountRelativeKey('/mnt/a', outside), outside).toThrow(expect.objectContaining({ code: 'EINVAL' }));
    }
  });
});

// Every CLI run loads the config and the command modules: allow for a busy machine.
describe('storaged status / refresh (CLI)', { timeout: 240_000 }, () => {
  let storaged: CliRunner;
  const cliCache = join(temp, 'cli-cache');
  const mountA = join(temp, 'mnt-a');
  const mountB = join(temp, 'mnt-b');
  const controlA = new FakeControl(sampleStatus(mountA, 'photos'));
  const controlB = new FakeControl(sampleStatus(mountB, 'docs'));
  const run = (...args: string[]) => storaged([...args, '--config', configPath]);

  beforeAll(async () => {
    const build = join(temp, 'cli');
    mkdirSync(build);
    storaged = await buildCli(build);
    writeFileSync(configPath, `cache: { dir: ${cliCache} }\ndisks:\n  mem: { driver: memory }\n`);
  });

  it('says so when no mount is running', async () => {
    const text = await run('status');
    expect(text.code).toBe(0);
    expect(text.stdout).toBe('no storaged mount is running\n');
    const json = await run('status', '--json');
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toEqual([]);
  });

  it('shows every running mount found through the pid files, skipping dead ones', async () => {
    await writePidFile(pidFilePath(cliCache, mountA));
    await writePidFile(pidFilePath(cliCache, mountB));
    await writePidFile(pidFilePath(cliCache, join(temp, 'mnt-crashed')), 2 ** 22 + 12345); // above pid_max: never alive
    await serve(controlA, controlSocketPath(cliCache, mountA));
    await serve(controlB, controlSocketPath(cliCache, mountB));

    const json = await run('status', '--json');
    expect(json.stderr).toBe('');
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toEqual([controlA.current, controlB.current]);

    const text = await run('status');
    expect(text.code).toBe(0);
    expect(text.stdout).toContain(`disk photos at ${mountA}`);
    expect(text.stdout).toContain(`disk docs at ${mountB}`);
    expect(text.stdout).toMatch(/pending\s+12 operations, 3 uploads \(4\.0 MiB\)/);
    expect(text.stdout).toContain('upload albums/c.jpg: 3 attempts, last error EIO: connection reset');
    expect(text.stdout).not.toContain('mnt-crashed');

    const one = await run('status', mountB, '--json');
    expect(one.code).toBe(0);
    expect(JSON.parse(one.stdout)).toEqual([controlB.current]);
  });

  it('names a mount that does not answer in one line and exits 1', async () => {
    const silentMount = join(temp, 'mnt-silent');
    await writePidFile(pidFilePath(cliCache, silentMount)); // alive (this process) but no control socket
    try {
      const all = await run('status');
      expect(all.code).toBe(1);
      expect(all.stderr).toBe(`storaged: no storaged mount is serving ${silentMount} [${NOT_SERVING}]\n`);
      expect(all.stdout).toContain(`disk photos at ${mountA}`);
    } finally {
      rmSync(pidFilePath(cliCache, silentMount));
    }
    const unknown = await run('status', join(temp, 'not-mounted'));
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toBe(`storaged: no storaged mount is serving ${join(temp, 'not-mounted')} [${NOT_SERVING}]\n`);
    expect(hasStackTrace(unknown.stderr)).toBe(false);
  });

  it('refreshes a path given relative to the mount or absolute inside it', async () => {
    const runs = [await run('refresh', mountA, 'albums/2024'), await run('refresh', mountA, join(mountA, 'albums', 'x.jpg')), await run('refresh', mountA)];
    expect(runs.map((r) => [r.code, r.stderr])).toEqual([
      [0, `refreshed ${mountA}/albums/2024\n`],
      [0, `refreshed ${mountA}/albums/x.jpg\n`],
      [0, `refreshed ${mountA}\n`],
    ]);
    expect(controlA.refreshed).toEqual(['albums/2024', 'albums/x.jpg', '']);
  });

  it('refuses a path outside the mount and reports the daemon error', async () => {
    const outside = await run('refresh', mountA, '/etc');
    expect(outside.code).toBe(1);
    expect(outside.stderr).toMatch(/^storaged: .*'\/etc'.* \[EINVAL\]\n$/);
    controlB.failWith = new FsError('ENOENT', "no such file or directory 'missing'", { path: 'missing' });
    const missing = await run('refresh', mountB, 'missing');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe("storaged: no such file or directory 'missing' [ENOENT]\n");
    expect(controlA.refreshed).toHaveLength(3);
    const nobody = await run('refresh', join(temp, 'not-mounted'));
    expect(nobody.code).toBe(1);
    expect(nobody.stderr).toContain(`[${NOT_SERVING}]`);
  });

  it('sync asks one mount, or every running one, and reports the daemon error', async () => {
    const one = await run('sync', mountA);
    expect([one.code, one.stderr]).toEqual([0, `synced ${mountA}\n`]);
    expect(controlA.syncs).toBe(1);
    controlB.failWith = undefined;
    const all = await run('sync');
    expect(all.code).toBe(0);
    expect(all.stderr).toBe(`synced ${mountA}\nsynced ${mountB}\n`);
    expect([controlA.syncs, controlB.syncs]).toEqual([2, 1]);
    controlB.failWith = new FsError('EIO', 'the backend is down');
    const failing = await run('sync', mountB);
    expect(failing.code).toBe(1);
    expect(failing.stderr).toBe('storaged: the backend is down [EIO]\n');
  });
});
