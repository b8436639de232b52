import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { findMount } from '../../src/fuse/mountinfo.js';
import { processAlive } from '../../src/fuse/pidfile.js';
import { buildCli, hasStackTrace, type CliRunner } from '../support/cli.js';
import { forceUnmount } from './support/mount-process.js';

const canMount = existsSync('/dev/fuse');

/** Resolves once `check` is true, polling; rejects after `timeoutMs`. */
async function waitFor(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe.skipIf(!canMount)('storaged mount / unmount (CLI, real VFS)', { timeout: 120_000 }, () => {
  const temp = mkdtempSync(join(tmpdir(), 'storaged-cli-mount-'));
  const configPath = join(temp, 'config.yaml');
  const app = join(temp, 'app');
  const mountpoints: string[] = [];
  const children: ChildProcess[] = [];
  const pids: number[] = [];
  let storaged: CliRunner;
  let counter = 0;

  const freshMountpoint = () => {
    const path = join(temp, `mnt${counter++}`);
    mountpoints.push(path);
    return path;
  };

  /** Starts a foreground `storaged mount` and waits for its "mounted" line. */
  const mountForeground = async (disk: string, mountpoint: string) => {
    const child = spawn(process.execPath, [join(temp, 'build/dist/cli/main.js'), 'mount', disk, mountpoint, '--config', configPath], {
      cwd: temp,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    await waitFor(() => stderr.includes(`mounted ${disk} at ${mountpoint}`) || child.exitCode !== null, 'the mounted line');
    return { child, exited, stderr: () => stderr };
  };

  beforeAll(async () => {
    storaged = await buildCli(temp);
    mkdirSync(app);
    writeFileSync(
      configPath,
      `default: files
cache: { dir: cache }
disks:
  files: { driver: local, root: app }
  slow: { driver: memory, latency_ms: 1500 }
`,
    );
  });

  afterEach(async () => {
    for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    for (const pid of pids.splice(0)) if (processAlive(pid)) process.kill(pid, 'SIGKILL');
    for (const path of mountpoints.splice(0)) await forceUnmount(path);
  });

  afterAll(() => rmSync(temp, { recursive: true, force: true }));

  it('--daemon prints the pid once the mount is live; unmount waits for the process to finish', async () => {
    const mnt = freshMountpoint();
    const started = await storaged(['mount', 'files', mnt, '--daemon', '--config', configPath]);
    expect(started.code, started.stderr).toBe(0);
    const pid = Number(started.stdout.trim());
    pids.push(pid);
    expect(processAlive(pid)).toBe(true);
    expect(await findMount(mnt)).toMatchObject({ fstype: 'fuse.storaged', source: 'storaged:files' });

    await fs.mkdir(join(mnt, 'docs'));
    await fs.writeFile(join(mnt, 'docs/note.txt'), 'through the mount');
    const stopped = await storaged(['unmount', mnt, '--config', configPath]);
    expect(stopped.code, stopped.stderr).toBe(0);
    expect(stopped.stderr).toContain(`unmounted ${mnt}`);
    expect(processAlive(pid)).toBe(false);
    expect(await findMount(mnt)).toBeUndefined();
    expect(readFileSync(join(app, 'docs/note.txt'), 'utf8')).toBe('through the mount');
    expect(readdirSync(join(temp, 'cache/mounts')).filter((f) => f.endsWith('.pid'))).toEqual([]);
  });

  it('foreground: SIGTERM unmounts, uploads and exits 0', async () => {
    const mnt = freshMountpoint();
    const served = await mountForeground('files', mnt);
    await fs.writeFile(join(mnt, 'fg.txt'), 'foreground');
    served.child.kill('SIGTERM');
    expect(await served.exited).toBe(0);
    expect(await findMount(mnt)).toBeUndefined();
    expect(readFileSync(join(app, 'fg.txt'), 'utf8')).toBe('foreground');
  });

  it('a second signal unmounts at once and exits 1, leaving pending uploads', async () => {
    const mnt = freshMountpoint();
    const served = await mountForeground('slow', mnt);
    await fs.writeFile(join(mnt, 'pending.bin'), Buffer.alloc(1024, 1)); // its upload takes the disk's latency
    served.child.kill('SIGTERM');
    await waitFor(() => served.stderr().includes('SIGTERM: unmounting'), 'the first signal to be handled');
    served.child.kill('SIGTERM');
    expect(await served.exited).toBe(1);
    // Write-back: what is left stays journaled in the cache, and the message says how much.
    expect(served.stderr()).toMatch(/1 backend operation \(1 upload, [^)]+\) stay journaled for the next start/);
    await waitFor(async () => (await findMount(mnt)) === undefined, 'the mount to go away', 5000);
  });

  it('exits 0 when the mount is removed from outside, and unmount cleans a mount whose process died', async () => {
    const outside = freshMountpoint();
    const first = await mountForeground('files', outside);
    await forceUnmount(outside);
    expect(await first.exited).toBe(0);
    expect(first.stderr()).toContain('unmounted from outside');

    const crashed = freshMountpoint();
    const second = await mountForeground('files', crashed);
    second.child.kill('SIGKILL');
    await second.exited;
    expect(await findMount(crashed)).toMatchObject({ fstype: 'fuse.storaged' });
    const cleaned = await storaged(['unmount', crashed, '--config', configPath]);
    expect(cleaned.code, cleaned.stderr).toBe(0);
    expect(await findMount(crashed)).toBeUndefined();
  });

  it('startup errors exit non-zero with one clear line', async () => {
    const unknown = await storaged(['mount', 'nope', freshMountpoint(), '--config', configPath]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr.trim()).toMatch(/^storaged: .*nope.* \[EINVAL\]$/);

    const mnt = freshMountpoint();
    const served = await mountForeground('files', mnt);
    const busy = await storaged(['mount', 'files', mnt, '--config', configPath]);
    expect(busy.code).toBe(1);
    expect(busy.stderr.trim()).toMatch(/^storaged: .*already mounted.* \[EBUSY\]$/);
    const busyDaemon = await storaged(['mount', 'files', mnt, '--daemon', '--config', configPath]);
    expect(busyDaemon.code).toBe(1);
    expect(busyDaemon.stderr.trim()).toMatch(/^storaged: .*already mounted.* \[EBUSY\]$/);
    for (const run of [unknown, busy, busyDaemon]) expect(hasStackTrace(run.stderr), run.stderr).toBe(false);
    served.child.kill('SIGTERM');
    expect(await served.exited).toBe(0);

    const notMounted = await storaged(['unmount', mnt, '--config', configPath]);
    expect(notMounted.code).toBe(1);
    expect(notMounted.stderr.trim()).toMatch(/^storaged: .*not mounted \[EINVAL\]$/);
  });
});
