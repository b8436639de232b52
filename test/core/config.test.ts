import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, ConfigErrors } from '../../src/core/config/errors.js';
import { loadConfig, parseConfig } from '../../src/core/config/loader.js';

const repoRoot = resolve(import.meta.dirname, '../..');
const temp = mkdtempSync(join(tmpdir(), 'storaged-config-'));
afterAll(() => rmSync(temp, { recursive: true, force: true }));

let counter = 0;
/** Writes `text` as config.yaml in a fresh folder; returns the file path. */
function configFile(text: string): string {
  const dir = join(temp, `case-${++counter}`);
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'config.yaml');
  writeFileSync(file, text);
  return file;
}

/** The ConfigError `run` throws (fails the test when it does not throw one). */
function configError(run: () => unknown): ConfigError {
  try {
    run();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error('expected a ConfigError, nothing was thrown');
}

/** Every problem of a ConfigError (a ConfigErrors lists several). */
function problems(err: ConfigError): ConfigError[] {
  return err instanceof ConfigErrors ? err.problems : [err];
}

const S3_DISK = `
default: s3
disks:
  s3:
    driver: s3
    bucket: media
    endpoint: http://127.0.0.1:4568
    path_style: true
    key: \${S3_KEY}
    secret: \${S3_SECRET:-dev-secret}
`;

describe('config loader', () => {
  it('loads a valid file with every section', () => {
    const file = configFile(`
default: files
cache: { dir: /var/cache/storaged, max_size: 512MiB }
signing_key: 0123456789abcdef0123
disks:
  files: { driver: local, root: /srv/files, url: /storage, visibility: private }
  mem: { driver: memory, latency_ms: 5 }
  ftp: { driver: ftp, host: 127.0.0.1 }
`);
    const config = loadConfig(file, {});
    expect(config.file).toBe(file);
    expect(config.defaultDisk).toBe('files');
    expect(config.cache).toEqual({ dir: '/var/cache/storaged', maxSize: 512 * 2 ** 20 });
    expect(config.signingKey).toBe('0123456789abcdef0123');
    expect(Object.keys(config.disks)).toEqual(['files', 'mem', 'ftp']);
    expect(config.disks.files).toEqual({ driver: 'local', root: '/srv/files', url: '/storage', visibility: 'private' });
    // Schema defaults are filled in.
    expect(config.disks.ftp).toMatchObject({ driver: 'ftp', host: '127.0.0.1', port: 21, user: 'anonymous', root: '/', secure: false });
  });

  it('substitutes ${VAR} and ${VAR:-default} from the environment', () => {
    const file = configFile(S3_DISK);
    const config = loadConfig(file, { S3_KEY: 'AKIA123' });
    expect(config.disks.s3).toMatchObject({ driver: 's3', bucket: 'media', key: 'AKIA123', secret: 'dev-secret', path_style: true });
    const overridden = loadConfig(file, { S3_KEY: 'AKIA123', S3_SECRET: 's3cr3t' });
    expect(overridden.disks.s3).toMatchObject({ secret: 's3cr3t' });
  });

  it('keeps a substituted value verbatim, even when it looks like YAML, and $${X} literal', () => {
    const file = configFile(`
disks:
  s3:
    driver: s3
    bucket: b
    key: \${S3_KEY}
    secret: "$\${NOT_A_VAR}"
`);
    const config = loadConfig(file, { S3_KEY: 'a: b, [c]' });
    expect(config.disks.s3).toMatchObject({ key: 'a: b, [c]', secret: '${NOT_A_VAR}' });
  });

  it('substitutes a quoted ${VAR} inside a flow mapping', () => {
    // Unquoted, `{ key: ${S3_KEY} }` is invalid YAML: '{' is a flow indicator.
    const file = configFile('disks:\n  s3: { driver: s3, bucket: b, key: "${S3_KEY}" }\n');
    expect(loadConfig(file, { S3_KEY: 'AKIA' }).disks.s3).toMatchObject({ key: 'AKIA' });
  });

  it('substitutes an unquoted ${VAR} inside a flow mapping, as PRODUCT.md writes it', () => {
    const file = configFile('disks:\n  s3: { driver: s3, bucket: b, key: ${S3_KEY}, endpoint: http://${HOST}:4568 }\n');
    expect(loadConfig(file, { S3_KEY: 'AK: {x}', HOST: '127.0.0.1' }).disks.s3).toMatchObject({
      key: 'AK: {x}',
      endpoint: 'http://127.0.0.1:4568',
    });
  });

  it('reads numbers and booleans from ${VAR} text where a key expects them, and keeps other text as is', () => {
    const file = configFile('disks:\n  ftp: { driver: ftp, host: h, port: ${FTP_PORT}, user: ${FTP_USER}, password: ${FTP_PASS}, tls_verify: ${V} }\n');
    const env = { FTP_PORT: '2121', FTP_USER: '007', FTP_PASS: 'true', V: 'false' };
    expect(loadConfig(file, env).disks.ftp).toMatchObject({ port: 2121, user: '007', password: 'true', tls_verify: false });
    const bad = configError(() => loadConfig(file, { ...env, FTP_PORT: '21x' }));
    expect(bad.key).toBe('disks.ftp.port');
  });

  it('reports every missing env var at once', () => {
    const file = configFile('disks:\n  s3: { driver: s3, bucket: b, key: ${K1}, secret: ${K2} }\n');
    const err = configError(() => loadConfig(file, {}));
    expect(problems(err).map((p) => p.key)).toEqual(['disks.s3.key', 'disks.s3.secret']);
  });

  it('reads mount tuning with defaults, sizes in bytes, and rejects a block size out of range', () => {
    const defaults = loadConfig(configFile('disks:\n  l: { driver: local, root: r }\n'), {});
    expect(defaults.mount).toEqual({ refreshTtl: 60, blockSize: 2 ** 20, readAhead: 8 * 2 ** 20, fetchConcurrency: 4, attrTimeout: 1, entryTimeout: 1 });
    const tuned = loadConfig(configFile('mount: { block_size: 4MiB, refresh_ttl: 5 }\ndisks:\n  l: { driver: local, root: r }\n'), {});
    expect(tuned.mount).toMatchObject({ blockSize: 4 * 2 ** 20, refreshTtl: 5 });
    const bad = configError(() => loadConfig(configFile('mount: { block_size: 1KiB }\ndisks:\n  l: { driver: local, root: r }\n'), {}));
    expect(bad.key).toBe('mount.block_size');
    const typo = configError(() => loadConfig(configFile('mount: { read_ahaed: 1MiB }\ndisks:\n  l: { driver: local, root: r }\n'), {}));
    expect(typo.message).toContain("did you mean 'read_ahead'");
  });

  it('names the key and the variable when an env var is missing', () => {
    const file = configFile(S3_DISK);
    const err = configError(() => loadConfig(file, {}));
    expect(err.code).toBe('EINVAL');
    expect(err.file).toBe(file);
    expect(err.key).toBe('disks.s3.key');
    expect(err.message).toContain('S3_KEY');
  });

  it('rejects an unknown driver with a suggestion', () => {
    const file = configFile(`
disks:
  remote: { driver: s4, bucket: b }
`);
    const err = configError(() => loadConfig(file, {}));
    expect(err.code).toBe('EINVAL');
    expect(err.key).toBe('disks.remote.driver');
    expect(err.message).toContain("did you mean 's3'");
  });

  it('rejects an s3 disk without a bucket', () => {
    const file = configFile(`
disks:
  s3: { driver: s3, region: eu-west-1 }
`);
    const err = configError(() => loadConfig(file, {}));
    expect(err.code).toBe('EINVAL');
    expect(err.key).toBe('disks.s3.bucket');
    expect(err.message).toContain('required');
  });

  it('says "required" only for a missing key, not for a value of the wrong type', () => {
    const file = configFile(`
disks:
  ftp: { driver: ftp, host: h, port: twenty-one }
`);
    const err = configError(() => loadConfig(file, {}));
    expect(err.key).toBe('disks.ftp.port');
    expect(err.message).not.toContain('required');
    expect(err.message).toMatch(/number/);
  });

  it('rejects a misspelled key with "did you mean"', () => {
    const file = configFile(`
disks:
  s3: { driver: s3, bucket: b, endpiont: http://127.0.0.1:4568 }
`);
    const err = configError(() => loadConfig(file, {}));
    expect(err.code).toBe('EINVAL');
    expect(err.key).toBe('disks.s3.endpiont');
    expect(err.message).toContain("did you mean 'endpoint'");
  });

  it('rejects a misspelled top-level key with "did you mean"', () => {
    const file = configFile(`
defualt: local
disks:
  local: { driver: local, root: data }
`);
    const err = configError(() => loadConfig(file, {}));
    expect(err.key).toBe('defualt');
    expect(err.message).toContain("did you mean 'default'");
  });

  it('reports every problem of a file, one per disk', () => {
    const file = configFile(`
disks:
  a: { driver: s3 }
  b: { driver: azure, container: c, tier: Lukewarm }
  c: { driver: lcoal, root: x }
`);
    const err = configError(() => loadConfig(file, {}));
    expect(err).toBeInstanceOf(ConfigErrors);
    expect(problems(err).map((p) => p.key)).toEqual(['disks.a.bucket', 'disks.b.tier', 'disks.c.driver']);
    expect(problems(err).every((p) => p.code === 'EINVAL' && p.file === file)).toBe(true);
    // A swapped pair of letters is one edit: 'lcoal' is close to 'local'.
    expect(problems(err)[2]!.message).toContain("did you mean 'local'");
  });

  it('rejects bad YAML with the line', () => {
    const file = configFile('disks:\n  local: { driver: local, root: [unclosed\n');
    const err = configError(() => loadConfig(file, {}));
    expect(err.code).toBe('EINVAL');
    expect(err.key).toBe('');
    expect(err.message).toMatch(/invalid YAML at line \d+/);
  });

  it('rejects a default that names a missing disk', () => {
    const file = configFile(`
default: loacl
disks:
  local: { driver: local, root: data }
`);
    const err = configError(() => loadConfig(file, {}));
    expect(err.code).toBe('EINVAL');
    expect(err.key).toBe('default');
    expect(err.message).toContain("'loacl'");
  });

  it('rejects a missing config file given explicitly', () => {
    const err = configError(() => loadConfig(join(temp, 'nowhere', 'config.yaml'), {}));
    expect(err.code).toBe('EINVAL');
    expect(err.file).toBe(join(temp, 'nowhere', 'config.yaml'));
  });

  it('resolves a relative local root and cache dir against the config file folder', () => {
    const file = configFile(`
cache: { dir: ../cache }
disks:
  local: { driver: local, root: data/app }
`);
    const folder = resolve(file, '..');
    const config = loadConfig(file, {}, '/somewhere/else');
    expect(config.baseDir).toBe(folder);
    expect(config.disks.local).toMatchObject({ root: join(folder, 'data/app') });
    expect(config.cache.dir).toBe(resolve(folder, '../cache'));
  });

  it('uses the embedded default when there is no config file', () => {
    const cwd = join(temp, 'empty');
    mkdirSync(cwd);
    const config = loadConfig(undefined, {}, cwd);
    expect(config.file).toBeNull();
    expect(config.defaultDisk).toBe('local');
    expect(config.disks.local).toEqual({ driver: 'local', root: join(cwd, 'storage/app'), url: '/storage', visibility: 'public' });
    expect(config.cache).toEqual({ dir: join(cwd, 'storage/cache'), maxSize: 10 * 2 ** 30 });
  });

  it('looks for ./config.yaml first, then $STORAGED_CONFIG', () => {
    const elsewhere = configFile('disks:\n  mem: { driver: memory }\n');
    const cwd = join(temp, 'cwd-with-file');
    mkdirSync(cwd);
    expect(loadConfig(undefined, { STORAGED_CONFIG: elsewhere }, cwd).file).toBe(elsewhere);
    writeFileSync(join(cwd, 'config.yaml'), 'disks:\n  here: { driver: memory }\n');
    const config = loadConfig(undefined, { STORAGED_CONFIG: elsewhere }, cwd);
    expect(config.file).toBe(join(cwd, 'config.yaml'));
    expect(config.defaultDisk).toBe('here');
  });
});

describe('the committed config.yaml', () => {
  const text = readFileSync(join(repoRoot, 'config.yaml'), 'utf8');

  it('loads as is: the local disk is the default', () => {
    const config = loadConfig(join(repoRoot, 'config.yaml'), {});
    expect(config.defaultDisk).toBe('local');
    expect(config.disks.local).toEqual({ driver: 'local', root: join(repoRoot, 'storage/app'), url: '/storage', visibility: 'public' });
    expect(config.cache).toEqual({ dir: join(repoRoot, 'storage/cache'), maxSize: 10 * 2 ** 30 });
  });

  it('has examples of every driver that are valid once uncommented', () => {
    // Uncomment one level of '# ' in front of `key:` lines; nested optional keys stay comments.
    const uncommented = text.replace(/^(\s*)# ( *[a-z][a-z0-9_]*:(?: .*)?)$/gm, '$1$2');
    const env = Object.fromEntries(
      [...uncommented.matchAll(/\$\{([A-Z0-9_]+)(?::-[^}]*)?\}/g)].map((m) => [m[1]!, m[1] === 'STORAGED_SIGNING_KEY' ? 'k'.repeat(32) : 'value']),
    );
    const config = parseConfig(uncommented, 'config.yaml (uncommented)', repoRoot, env);
    const drivers = new Set(Object.values(config.disks).map((d) => d.driver));
    expect([...drivers].sort()).toEqual(['azure', 'ftp', 'gcs', 'local', 'memory', 's3']);
    expect(Object.keys(config.disks)).toEqual(['local', 's3', 'minio', 'spaces', 'r2', 'gcs', 'azure', 'ftp', 'memory']);
    expect(config.disks.minio).toMatchObject({ endpoint: 'http://127.0.0.1:9000', path_style: true });
    expect(config.disks.azure).toMatchObject({ tier: 'Hot' });
    expect(config.disks.ftp).toMatchObject({ secure: false, user: 'value', password: 'value' });
    expect(config.signingKey).toBe('k'.repeat(32));
  });
});
