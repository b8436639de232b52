import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildCli, hasStackTrace, repoRoot, type CliRunner } from '../support/cli.js';
import { freePort } from '../support/process.js';

const temp = mkdtempSync(join(tmpdir(), 'storaged-cli-'));
const configPath = join(temp, 'config.yaml');
const root = join(temp, 'app');
let storaged: CliRunner;

/** Non-empty lines of an output. */
function lines(text: string): string[] {
  return text.split('\n').filter(Boolean);
}

/** No stack trace: no "    at " frames and no "Error:" class prefixes. */
function expectNoStack(text: string): void {
  expect(hasStackTrace(text), text).toBe(false);
}

let closedPort = 0;

beforeAll(async () => {
  storaged = await buildCli(temp);
  closedPort = await freePort(); // nothing listens there: connections are refused
  writeFileSync(
    configPath,
    `default: files
cache: { dir: cache }
disks:
  files: { driver: local, root: app }
  mem: { driver: memory }
  slow: { driver: memory, latency_ms: 3000 }
  s3: { driver: s3, bucket: probe, endpoint: "http://127.0.0.1:${closedPort}", path_style: true, key: k, secret: s, max_attempts: 1, timeout: 5 }
`,
  );
});

afterAll(() => rmSync(temp, { recursive: true, force: true }));

// Every run that touches a disk loads all vendor SDKs (~1 s of CPU): allow for a busy machine.
describe('storaged CLI', { timeout: 240_000 }, () => {
  it('prints its version', async () => {
    const run = await storaged(['--version']);
    const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string };
    expect(run.code).toBe(0);
    expect(run.stdout.trim()).toBe(pkg.version);
  });

  it('lists the configured disks, default marked, as a table and as JSON', async () => {
    const table = await storaged(['disks', '--config', configPath]);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/^\*\s+files\s+local\s+.*app$/m);
    expect(table.stdout).toMatch(/^\s+s3\s+s3\s+bucket probe at http:\/\/127\.0\.0\.1:\d+$/m);
    expect(table.stdout).toContain(`config: ${configPath}`);

    const json = await storaged(['--config', configPath, 'disks', '--json']);
    expect(json.code).toBe(0);
    const disks = JSON.parse(json.stdout) as Array<{ name: string; driver: string; where: string; default: boolean }>;
    expect(disks.map((d) => [d.name, d.driver, d.default])).toEqual([
      ['files', 'local', true],
      ['mem', 'memory', false],
      ['slow', 'memory', false],
      ['s3', 's3', false],
    ]);
    expect(disks[0]!.where).toBe(root);
    expect(json.stdout).not.toContain('"s"'); // no secrets
  });

  it('round-trips put, ls, cat and rm on a local disk', async () => {
    const source = join(temp, 'hello.txt');
    writeFileSync(source, 'hello from a file\n');
    const blob = randomBytes(3 * 2 ** 20 + 17);
    const blobSource = join(temp, 'blob.bin');
    writeFileSync(blobSource, blob);

    const puts = await Promise.all([
      storaged(['put', source, 'files:docs/hello.txt', '--config', configPath]),
      // stdin, the default disk (no "disk:"), and a leading slash.
      storaged(['put', '-', '/docs/sub/piped.bin', '--config', configPath], { stdin: 'piped bytes' }),
      // A trailing slash keeps the source's name.
      storaged(['put', source, 'files:/docs/sub/', '--config', configPath]),
      storaged(['put', blobSource, 'files:big/blob.bin', '--config', configPath]),
    ]);
    for (const put of puts) expect(put).toMatchObject({ code: 0, stderr: '' });
    expect(puts[0]!.stdout).toBe('18 bytes written to files:docs/hello.txt\n');
    expect(puts[1]!.stdout).toBe('11 bytes written to files:docs/sub/piped.bin\n');
    expect(puts[2]!.stdout).toBe('18 bytes written to files:docs/sub/hello.txt\n');
    expect(readFileSync(join(root, 'docs/hello.txt'), 'utf8')).toBe('hello from a file\n');
    expect(readFileSync(join(root, 'docs/sub/piped.bin'), 'utf8')).toBe('piped bytes');
    expect(readFileSync(join(root, 'docs/sub/hello.txt'), 'utf8')).toBe('hello from a file\n');
    expect(readFileSync(join(root, 'big/blob.bin')).equals(blob)).toBe(true);

    const [ls, long, recursive, lsFile, cat, catBig] = await Promise.all([
      storaged(['ls', 'files:docs', '--config', configPath]),
      storaged(['ls', '-l', 'files:/docs', '--config', configPath]),
      storaged(['ls', '-R', 'docs', '--config', configPath]),
      storaged(['ls', '-l', 'files:docs/hello.txt', '--config', configPath]),
      storaged(['cat', 'files:docs/sub/piped.bin', '--config', configPath]),
      storaged(['cat', 'files:big/blob.bin', '--config', configPath]),
    ]);
    expect(ls).toMatchObject({ code: 0, stderr: '' });
    expect(lines(ls.stdout)).toEqual(['hello.txt', 'sub/']);
    expect(long.code).toBe(0);
    expect(long.stdout).toMatch(/^-\s+18\s+\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\s+hello\.txt$/m);
    expect(long.stdout).toMatch(/^d\s+-\s+\S+\s+sub\/$/m);
    expect(lines(recursive.stdout)).toEqual(['hello.txt', 'sub/', 'sub/hello.txt', 'sub/piped.bin']);
    expect(lsFile.stdout).toMatch(/^-\s+18\s+\S+\s+hello\.txt\n$/);
    expect(cat).toMatchObject({ code: 0, stdout: 'piped bytes', stderr: '' });
    expect(catBig.code).toBe(0);
    expect(catBig.bytes.equals(blob)).toBe(true);

    const [rmFile, rmDir] = await Promise.all([
      storaged(['rm', 'files:docs/hello.txt', '--config', configPath]),
      storaged(['rm', 'files:docs/sub', '--config', configPath]),
    ]);
    expect(rmFile).toMatchObject({ code: 0, stdout: '', stderr: '' });
    expect(existsSync(join(root, 'docs/hello.txt'))).toBe(false);
    expect(rmDir.code).toBe(1);
    expect(rmDir.stderr).toMatch(/^storaged: .*is a directory.* \[EISDIR\]\n$/);
    expect(existsSync(join(root, 'docs/sub/piped.bin'))).toBe(true);

    const rmTree = await storaged(['rm', '-r', 'files:docs', '--config', configPath]);
    expect(rmTree).toMatchObject({ code: 0, stderr: '' });
    expect(existsSync(join(root, 'docs'))).toBe(false);
    expect(existsSync(join(root, 'big/blob.bin'))).toBe(true);
  });

  it('fails cleanly on a missing file, an unknown disk, a bad path and a missing source', async () => {
    const runs = await Promise.all([
      storaged(['cat', 'files:nope.txt', '--config', configPath]),
      storaged(['ls', 'flies:', '--config', configPath]),
      storaged(['cat', 'files:../../etc/passwd', '--config', configPath]),
      storaged(['put', join(temp, 'no-such-file'), 'files:x', '--config', configPath]),
    ]);
    const [missing, unknownDisk, escape, noSource] = runs;
    expect(missing!.stderr).toMatch(/^storaged: .*nope\.txt.* \[ENOENT\]\n$/);
    expect(unknownDisk!.stderr).toMatch(/^storaged: unknown disk 'flies' \(did you mean 'files'\?\).* \[EINVAL\]\n$/);
    expect(escape!.stderr).toMatch(/^storaged: .*\.\..* \[EINVAL\]\n$/);
    expect(noSource!.stderr).toMatch(/^storaged: .*no-such-file.* \[ENOENT\]\n$/);
    for (const run of runs) {
      expect(run.code).toBe(1);
      expect(run.stdout).toBe('');
      expectNoStack(run.stderr);
    }
  });

  it('storage:test passes on local and memory disks', async () => {
    const run = await storaged(['storage:test', '--config', configPath, 'files']);
    expect(run).toMatchObject({ code: 0, stderr: '' });
    expect(run.stdout).toMatch(/^OK {3}files {2}\(local, .*app\) {2}list \d+ ms, write \d+ ms, read \d+ ms, delete \d+ ms\n$/);
    const mem = await storaged(['storage:test', 'mem', '--config', configPath]);
    expect(mem).toMatchObject({ code: 0, stderr: '' });
    expect(mem.stdout).toMatch(/^OK {3}mem {2}\(memory\) {2}list \d+ ms, write \d+ ms, read \d+ ms, delete \d+ ms\n$/);
    // The probe object is gone afterwards.
    expect(readdirSync(root).filter((n) => n.startsWith('.storaged-probe-'))).toEqual([]);
  });

  it('storage:test prints one FAIL line per failing disk, in config order, and exits 1', async () => {
    const run = await storaged(['storage:test', '--timeout', '1', '--config', configPath]);
    expect(run.code).toBe(1);
    expect(run.stderr).toBe('');
    expectNoStack(run.stdout);
    const out = lines(run.stdout);
    expect(out.map((l) => l.split(/\s+/).slice(0, 2).join(' '))).toEqual(['OK files', 'OK mem', 'FAIL slow', 'FAIL s3']);
    // A backend slower than --timeout: ETIMEDOUT on the step in progress.
    expect(out[2]).toMatch(/^FAIL slow +\(memory\) {2}list: ETIMEDOUT /);
    // Nothing listens on the s3 endpoint: connection refused (ENOSYS while the s3 driver is a placeholder).
    expect(out[3]).toMatch(new RegExp(`^FAIL s3 +\\(s3, bucket probe at http://127\\.0\\.0\\.1:${closedPort}\\) {2}\\w+: (ECONNREFUSED|ENOSYS) `));
  });

  it('prints every config problem on its own line, without a stack trace', async () => {
    const bad = join(temp, 'bad.yaml');
    writeFileSync(bad, 'default: nowhere\ndisks:\n  a: { driver: s3 }\n  b: { driver: local, rot: x }\n');
    const run = await storaged(['disks', '--config', bad]);
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    const problems = lines(run.stderr);
    expect(problems).toHaveLength(4); // a: bucket missing; b: root missing, 'rot' unknown; default
    expect(problems.every((l) => l.startsWith(`storaged: ${bad}: `) && l.endsWith('[EINVAL]'))).toBe(true);
    expect(run.stderr).toContain('disks.a.bucket');
    expect(run.stderr).toContain("did you mean 'root'");
    expectNoStack(run.stderr);

    const debug = await storaged(['disks', '--config', bad], { env: { STORAGED_DEBUG: '1' } });
    expect(debug.stderr).toMatch(/^\s+at /m);
  });

  it('uses ./config.yaml, then $STORAGED_CONFIG, then the built-in default', async () => {
    const empty = join(temp, 'empty-cwd');
    mkdirSync(empty, { recursive: true });
    const builtIn = await storaged(['disks', '--json'], { cwd: empty });
    expect(JSON.parse(builtIn.stdout)).toEqual([{ name: 'local', driver: 'local', where: join(empty, 'storage/app'), default: true }]);
    const fromEnv = await storaged(['disks', '--json'], { cwd: empty, env: { STORAGED_CONFIG: configPath } });
    expect((JSON.parse(fromEnv.stdout) as unknown[]).length).toBe(4);
  });

  it('rejects a bad command line with exit code 2', async () => {
    const run = await storaged(['storage:test', '--timeout', 'soon', '--config', configPath]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^storaged: /);
  });
});
