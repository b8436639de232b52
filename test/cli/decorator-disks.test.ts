import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildCli, hasStackTrace, type CliRunner } from '../support/cli.js';
import { startMount } from '../support/mount.js';

const temp = mkdtempSync(join(tmpdir(), 'storaged-cli-decorators-'));
const configPath = join(temp, 'config.yaml');
const app = join(temp, 'app');
const KEY = randomBytes(32).toString('base64');
const env = { SECRET_KEY: KEY };
let storaged: CliRunner;

/** config.yaml with a local disk and decorator disks over it; `root` and `cache` absolute. */
function configText(root: string, cache: string): string {
  return `default: files
cache: { dir: "${cache}" }
disks:
  tenant: { driver: scoped, disk: files, prefix: tenants/acme }
  files: { driver: local, root: "${root}" }
  secret: { driver: encrypted, disk: files, keys: { k1: "\${SECRET_KEY}" }, key_id: k1, chunk_size: 4KiB }
  vault: { driver: scoped, disk: secret, prefix: vault }
  frozen: { driver: read-only, disk: files }
`;
}

beforeAll(async () => {
  storaged = await buildCli(temp);
  mkdirSync(app);
  writeFileSync(configPath, configText(app, join(temp, 'cache')));
});

afterAll(() => rmSync(temp, { recursive: true, force: true }));

describe('storaged CLI: decorator disks', { timeout: 240_000 }, () => {
  it('`storaged disks` lists decorator disks with what they wrap, never a key', async () => {
    const table = await storaged(['disks', '--config', configPath], { env });
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).toMatch(/^\*\s+files\s+local\s+\S*app$/m);
    expect(table.stdout).toMatch(/^\s+tenant\s+scoped\(local\)\s+\S*app, under tenants\/acme\/$/m);
    expect(table.stdout).toMatch(/^\s+secret\s+encrypted\(local\)\s+\S*app, key k1$/m);
    expect(table.stdout).toMatch(/^\s+vault\s+scoped\(encrypted\(local\)\)\s+\S*app, key k1, under vault\/$/m);
    expect(table.stdout).toMatch(/^\s+frozen\s+read-only\(local\)\s+\S*app$/m);
    expect(table.stdout).not.toContain(KEY);

    const json = await storaged(['disks', '--json', '--config', configPath], { env });
    const disks = JSON.parse(json.stdout) as Array<{ name: string; driver: string }>;
    // In file order, decorators and backends mixed (tenant wraps a disk declared after it).
    expect(disks.map((d) => [d.name, d.driver])).toEqual([
      ['tenant', 'scoped(local)'],
      ['files', 'local'],
      ['secret', 'encrypted(local)'],
      ['vault', 'scoped(encrypted(local))'],
      ['frozen', 'read-only(local)'],
    ]);
  });

  it('put, ls and cat round-trip through encrypted and scoped disks; the local disk holds ciphertext', async () => {
    const plain = Buffer.concat([Buffer.from('plaintext marker '), randomBytes(20_000)]);
    const source = join(temp, 'secret.bin');
    writeFileSync(source, plain);

    const put = await storaged(['put', source, 'secret:docs/s.bin', '--config', configPath], { env });
    expect(put.code, put.stderr).toBe(0);
    const stored = readFileSync(join(app, 'docs/s.bin'));
    expect(stored.subarray(0, 4).toString('latin1')).toBe('SDEC');
    expect(stored.includes(Buffer.from('plaintext marker'))).toBe(false);
    const cat = await storaged(['cat', 'secret:docs/s.bin', '--config', configPath], { env });
    expect(cat.code, cat.stderr).toBe(0);
    expect(Buffer.compare(cat.bytes, plain)).toBe(0);
    const ls = await storaged(['ls', '-l', 'secret:docs', '--config', configPath], { env });
    expect(ls.stdout).toMatch(new RegExp(`^-\\s+${plain.length}\\s+\\S+\\s+s\\.bin$`, 'm')); // the plaintext size

    const tenantPut = await storaged(['put', '-', 'tenant:notes/t.txt', '--config', configPath], { env, stdin: 'for acme only\n' });
    expect(tenantPut.code, tenantPut.stderr).toBe(0);
    expect(readFileSync(join(app, 'tenants/acme/notes/t.txt'), 'utf8')).toBe('for acme only\n');
    expect((await storaged(['cat', 'tenant:notes/t.txt', '--config', configPath], { env })).stdout).toBe('for acme only\n');
    expect((await storaged(['ls', '-R', 'tenant:', '--config', configPath], { env })).stdout.split('\n').filter(Boolean)).toEqual(['notes/', 'notes/t.txt']);

    const vault = await storaged(['put', '-', 'vault:v.txt', '--config', configPath], { env, stdin: 'in the vault' });
    expect(vault.code, vault.stderr).toBe(0);
    expect(readFileSync(join(app, 'vault/v.txt')).subarray(0, 4).toString('latin1')).toBe('SDEC');
    expect((await storaged(['cat', 'vault:v.txt', '--config', configPath], { env })).stdout).toBe('in the vault');
  });

  it('a read-only disk refuses put with EROFS; storage:test probes a decorator disk', async () => {
    const put = await storaged(['put', '-', 'frozen:x.txt', '--config', configPath], { env, stdin: 'x' });
    expect(put.code).toBe(1);
    expect(put.stderr).toMatch(/\[EROFS\]$/m);
    expect(hasStackTrace(put.stderr)).toBe(false);
    expect(existsSync(join(app, 'x.txt'))).toBe(false);

    const probe = await storaged(['storage:test', 'tenant', '--config', configPath], { env });
    expect(probe.code, probe.stdout + probe.stderr).toBe(0);
    expect(probe.stdout).toMatch(/^OK\s+tenant\s+\(scoped\(local\), \S*app, under tenants\/acme\/\)/m);
  });

  it('a bad decorator disk fails every command with the key at fault, never printing a key', async () => {
    const short = randomBytes(31).toString('base64');
    const badPath = join(temp, 'bad.yaml');
    await writeFile(
      badPath,
      `disks:
  files: { driver: local, root: app }
  secret: { driver: encrypted, disk: files, keys: { k1: "${short}" }, key_id: k1 }
  tenant: { driver: scoped, disk: fils, prefix: t }
`,
    );
    const run = await storaged(['disks', '--config', badPath]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`${badPath}: disks.secret.keys.k1: must decode to 32 bytes`);
    expect(run.stderr).toContain(`${badPath}: disks.tenant.disk: names disk 'fils', which is not configured (did you mean 'files'?)`);
    expect(run.stderr).not.toContain(short);
    expect(hasStackTrace(run.stderr)).toBe(false);
  });
});

const canMount = existsSync('/dev/fuse');

describe.skipIf(!canMount)('storaged mount: a decorator disk', { timeout: 120_000 }, () => {
  it('mounts an encrypted disk over a local one: files written through the mount are stored sealed', async () => {
    const root = join(temp, 'mounted-app');
    mkdirSync(root);
    const mount = await startMount({ config: configText(root, join(temp, 'mount-cache')), disk: 'secret', env });
    let stopped = false;
    try {
      const text = `written through FUSE ${randomBytes(8).toString('hex')}\n`;
      await writeFile(join(mount.mountpoint, 'm.txt'), text);
      expect(await readFile(join(mount.mountpoint, 'm.txt'), 'utf8')).toBe(text);
      const exit = await mount.stop();
      stopped = true;
      expect(exit.code, mount.output()).toBe(0);
      const stored = readFileSync(join(root, 'm.txt'));
      expect(stored.subarray(0, 4).toString('latin1')).toBe('SDEC');
      expect(stored.includes(Buffer.from('written through FUSE'))).toBe(false);
      // The mount's config file went with its folder on stop: read back with a config over the same root.
      const own = join(temp, 'mounted.yaml');
      writeFileSync(own, configText(root, join(temp, 'mount-cache')));
      const back = await storaged(['cat', 'secret:m.txt', '--config', own], { env });
      expect(back.stdout, back.stderr).toBe(text);
    } finally {
      if (!stopped) await mount.stop();
    }
  });
});
