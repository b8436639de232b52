import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, ConfigErrors } from '../../src/core/config/errors.js';
import { parseConfig } from '../../src/core/config/loader.js';
import type { CachedDriver } from '../../src/storage/decorators/cached/index.js';
import { checkDecoratorDisks } from '../../src/storage/decorators/config-check.js';
import { DECORATOR_DRIVERS } from '../../src/storage/decorators/config.js';
import { StorageManager } from '../../src/storage/manager.js';
import { expectCode } from '../conformance/support.js';

const KEY_2026 = randomBytes(32);
const KEY_2025 = randomBytes(32);
let work: string;
let manager: StorageManager;

/** A script that appends its arguments (the invalidated paths) to the file named by its first argument. */
const RECORDER = `require('node:fs').appendFileSync(process.argv[2], process.argv.slice(3).join(' ') + '\\n');`;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'storaged-decorator-config-'));
  await writeFile(join(work, 'recorder.cjs'), RECORDER);
  await writeFile(
    join(work, 'config.yaml'),
    `default: files
cache: { dir: cache }
disks:
  files: { driver: local, root: files }
  mem: { driver: memory }
  tenant: { driver: scoped, disk: files, prefix: tenants/acme }
  frozen: { driver: read-only, disk: files }
  secret:
    driver: encrypted
    disk: files
    keys: { k2025: "hex:${KEY_2025.toString('hex')}", k2026: "\${KEY_2026}" }
    key_id: k2026
    chunk_size: 4KiB
  old-secret: { driver: encrypted, disk: files, keys: { k2025: "${KEY_2025.toString('base64')}" }, key_id: k2025, chunk_size: 4KiB }
  fast: { driver: cached, disk: mem, store: memory, ttl: 60, max_content_size: 64KiB, max_size: 1MiB }
  on-folder: { driver: cached, disk: files, store: folder, ttl: "30", path: folder-cache }
  public:
    driver: cdn
    disk: files
    url: https://cdn.example.com/assets
    invalidate_command: ["${process.execPath}", "${join(work, 'recorder.cjs')}", "${join(work, 'invalidated.txt')}"]
    invalidate_timeout: 20
  nested: { driver: scoped, disk: secret, prefix: nested }
`,
  );
  manager = new StorageManager({ config: join(work, 'config.yaml'), env: { KEY_2026: KEY_2026.toString('base64') } });
});

afterAll(async () => {
  await manager.close();
  await rm(work, { recursive: true, force: true });
});

describe('decorator disks from config.yaml', () => {
  it('registers every decorator by default', () => {
    expect(manager.diskNames()).toEqual(expect.arrayContaining(['tenant', 'frozen', 'secret', 'fast', 'public', 'nested']));
    expect([...DECORATOR_DRIVERS].sort()).toEqual(['cached', 'cdn', 'encrypted', 'read-only', 'scoped']);
  });

  it('scoped: keys live under the prefix of the inner disk, listings are prefix-relative', async () => {
    const tenant = manager.disk('tenant');
    await tenant.put('docs/a.txt', 'for acme');
    expect(await readFile(join(work, 'files/tenants/acme/docs/a.txt'), 'utf8')).toBe('for acme');
    expect(await tenant.allFiles()).toEqual(['docs/a.txt']);
    expect((await tenant.driver()).name).toBe('scoped(local)');
  });

  it('read-only: reads pass, writes are EROFS', async () => {
    await manager.disk('files').put('frozen.txt', 'ice');
    const frozen = manager.disk('frozen');
    expect(await frozen.getText('frozen.txt')).toBe('ice');
    await expectCode(frozen.put('new.txt', 'no'), 'EROFS');
    await expectCode(frozen.delete('frozen.txt'), 'EROFS');
    expect(existsSync(join(work, 'files/new.txt'))).toBe(false);
  });

  it('encrypted: the inner disk holds ciphertext, the disk reads plaintext; a rotated key still opens old files', async () => {
    const plain = Buffer.concat([Buffer.from('top secret text '), randomBytes(10_000)]);
    const secret = manager.disk('secret');
    await secret.put('s.bin', plain);
    const stored = await readFile(join(work, 'files/s.bin'));
    expect(stored.subarray(0, 4).toString('latin1')).toBe('SDEC');
    expect(stored.includes(Buffer.from('top secret text'))).toBe(false);
    expect(Buffer.compare(await secret.get('s.bin'), plain)).toBe(0);
    expect(await secret.size('s.bin')).toBe(plain.length);

    await manager.disk('old-secret').put('old.txt', 'sealed with k2025');
    expect(await secret.getText('old.txt')).toBe('sealed with k2025');
    await expectCode(manager.disk('old-secret').get('s.bin'), 'EACCES');
  });

  it('decorators stack: scoped over encrypted over local', async () => {
    const nested = manager.disk('nested');
    await nested.put('x.txt', 'deep inside');
    expect((await nested.driver()).name).toBe('scoped(encrypted(local))');
    const stored = await readFile(join(work, 'files/nested/x.txt'));
    expect(stored.subarray(0, 4).toString('latin1')).toBe('SDEC');
    expect(await nested.getText('x.txt')).toBe('deep inside');
  });

  it('cached (memory store): a second read is a hit', async () => {
    const fast = manager.disk('fast');
    await fast.put('c.txt', 'cache me');
    const driver = (await fast.driver()) as CachedDriver;
    expect(await fast.getText('c.txt')).toBe('cache me');
    const hits = driver.counters.hits;
    expect(await fast.getText('c.txt')).toBe('cache me');
    expect(driver.counters.hits).toBeGreaterThan(hits);
  });

  it('cached (folder store): entries go to `path`, relative to the config file', async () => {
    const disk = manager.disk('on-folder');
    await disk.put('f.txt', 'on a folder cache');
    expect(await disk.getText('f.txt')).toBe('on a folder cache');
    const driver = (await disk.driver()) as CachedDriver;
    const hits = driver.counters.hits;
    expect(await disk.getText('f.txt')).toBe('on a folder cache');
    expect(driver.counters.hits).toBeGreaterThan(hits);
    expect(existsSync(join(work, 'folder-cache'))).toBe(true);
  });

  it('cdn: url() is on the CDN base, an overwrite runs the invalidation command', async () => {
    const cdn = manager.disk('public');
    expect(await cdn.url('a b.txt')).toBe('https://cdn.example.com/assets/a%20b.txt');
    await cdn.put('p.txt', 'v1');
    await cdn.put('p.txt', 'v2');
    expect(await readFile(join(work, 'invalidated.txt'), 'utf8')).toContain('/assets/p.txt');
  });

  it('configureDisk adds decorator disks at run time (camelCase keys, key bytes)', async () => {
    const runtime = manager.configureDisk('runtime-secret', 'encrypted', { disk: 'files', keys: { k2026: KEY_2026 }, keyId: 'k2026', chunkSize: 4096 });
    await runtime.put('rt.txt', 'at run time');
    expect(await manager.disk('secret').getText('rt.txt')).toBe('at run time');
    const bad = manager.configureDisk('runtime-scope', { driver: 'scoped', disk: 'files' });
    const err = await expectCode(bad.exists('a'), 'EINVAL');
    expect((err as ConfigError).key).toBe('disks.runtime-scope.prefix');
  });
});

describe('decorator disks: bad configs', () => {
  const KEY31 = randomBytes(31).toString('base64');

  /**
   * The first problem of a config object's decorator disks: the manager checks
   * them all when it loads the config (disk() here), before any disk is built.
   */
  async function buildError(disks: Record<string, unknown>, name: string): Promise<ConfigError> {
    const m = new StorageManager({ config: { disks: { files: { driver: 'memory' }, ...disks } } });
    try {
      const err = await expectCode(Promise.resolve().then(() => m.disk(name).exists('x')), 'EINVAL');
      expect(err).toBeInstanceOf(ConfigError);
      return err instanceof ConfigErrors ? err.problems[0]! : (err as ConfigError);
    } finally {
      await m.close();
    }
  }

  it('an unknown inner disk names `disk` with a suggestion', async () => {
    const err = await buildError({ bad: { driver: 'scoped', disk: 'fils', prefix: 'p' } }, 'bad');
    expect(err.key).toBe('disks.bad.disk');
    expect(err.message).toContain("did you mean 'files'");
  });

  it('a disk wrapping itself, directly or through another', async () => {
    expect((await buildError({ loop: { driver: 'read-only', disk: 'loop' } }, 'loop')).key).toBe('disks.loop.disk');
    const cycle = await buildError({ a: { driver: 'read-only', disk: 'b' }, b: { driver: 'scoped', disk: 'a', prefix: 'p' } }, 'a');
    expect(cycle.key).toMatch(/^disks\.[ab]\.disk$/);
    expect(cycle.message).toContain('a -> b -> a');
  });

  it('a 31-byte key names the key, never its value; a key_id not among the keys names key_id', async () => {
    const short = await buildError({ enc: { driver: 'encrypted', disk: 'files', keys: { k1: KEY31 }, key_id: 'k1' } }, 'enc');
    expect(short.key).toBe('disks.enc.keys.k1');
    expect(short.message).toContain('31 bytes');
    expect(short.message).not.toContain(KEY31);
    const badHex = await buildError({ enc: { driver: 'encrypted', disk: 'files', keys: { k1: 'hex:zz' }, key_id: 'k1' } }, 'enc');
    expect(badHex.key).toBe('disks.enc.keys.k1');
    const good = KEY_2026.toString('base64');
    const missing = await buildError({ enc: { driver: 'encrypted', disk: 'files', keys: { k2026: good }, key_id: 'k2027' } }, 'enc');
    expect(missing.key).toBe('disks.enc.key_id');
    expect(missing.message).toContain("did you mean 'k2026'");
    expect(missing.message).not.toContain(good);
  });

  it('an unknown key gets a suggestion and the known keys; keys of another store kind are refused', async () => {
    const typo = await buildError({ c: { driver: 'cached', disk: 'files', store: 'memory', tll: 5 } }, 'c');
    expect(typo.key).toBe('disks.c.tll');
    expect(typo.message).toContain("did you mean 'ttl'");
    expect(typo.message).toContain('known keys:');
    const wrongStore = await buildError({ c: { driver: 'cached', disk: 'files', store: 'memory', redis_url: 'redis://127.0.0.1:1' } }, 'c');
    expect(wrongStore.key).toBe('disks.c.redis_url');
    const noUrl = await buildError({ c: { driver: 'cached', disk: 'files', store: 'redis' } }, 'c');
    expect(noUrl.key).toBe('disks.c.redis_url');
    const cdn = await buildError({ c: { driver: 'cdn', disk: 'files', url: 'cdn.example.com' } }, 'c');
    expect(cdn.key).toBe('disks.c.url');
    const scope = await buildError({ s: { driver: 'scoped', disk: 'files', prefix: '../up' } }, 's');
    expect(scope.key).toBe('disks.s.prefix');
  });

  it('checkDecoratorDisks reports every problem of a config file at once, naming the file', () => {
    const config = parseConfig(
      `disks:
  files: { driver: local, root: files }
  a: { driver: scoped, disk: fils, prefix: p }
  b: { driver: encrypted, disk: files, keys: { k1: "${KEY31}" }, key_id: k1 }
  c: { driver: read-only, disk: d }
  d: { driver: read-only, disk: c }
  e: { driver: cached, disk: files, store: memory, tll: 5 }
`,
      '/etc/storaged/config.yaml',
      work,
      {},
      '/etc/storaged/config.yaml',
      { customDrivers: DECORATOR_DRIVERS },
    );
    let thrown: unknown;
    try {
      checkDecoratorDisks(config);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(ConfigErrors);
    const problems = (thrown as ConfigErrors).problems;
    expect(problems.map((p) => p.key).sort()).toEqual(['disks.a.disk', 'disks.b.keys.k1', 'disks.c.disk', 'disks.d.disk', 'disks.e.tll']);
    expect(problems.every((p) => p.file === '/etc/storaged/config.yaml' && p.code === 'EINVAL')).toBe(true);
    expect((thrown as Error).message).not.toContain(KEY31);
  });
});
