import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, ConfigErrors } from '../../src/core/config/errors.js';
import { loadConfig, parseConfig, type StoragedConfig } from '../../src/core/config/loader.js';
import type { ClamdConfig, HookConfig, WatchConfig, WatchRules } from '../../src/core/config/watch-config.js';
import { convert, optimise, thumbnails, watermark, type ConvertOptions, type OptimiseOptions, type ThumbnailSpec, type WatermarkOptions } from '../../src/processing/images/index.js';
import type { ClamdScannerOptions } from '../../src/processing/scan/index.js';
import type { UploadRules } from '../../src/processing/sniff/index.js';

const repoRoot = resolve(import.meta.dirname, '../..');
const temp = mkdtempSync(join(tmpdir(), 'storaged-watch-config-'));
afterAll(() => rmSync(temp, { recursive: true, force: true }));

let counter = 0;
/** Loads `text` as config.yaml from a fresh folder; returns the config and that folder. */
function load(text: string): { config: StoragedConfig; dir: string } {
  const dir = join(temp, `case-${++counter}`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'config.yaml'), text);
  return { config: loadConfig(join(dir, 'config.yaml'), {}), dir };
}

const DISKS = `
cache: { dir: cache }
disks:
  media: { driver: memory }
  other: { driver: memory }
`;

/** The ConfigError loading `text` throws (fails when it loads). */
function rejection(text: string): ConfigError {
  try {
    parseConfig(text, 'config.yaml', '/etc/storaged', {});
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).code).toBe('EINVAL');
    return err as ConfigError;
  }
  throw new Error('expected a ConfigError, the config loaded');
}

/** Every problem of a ConfigError (a ConfigErrors lists several). */
function problems(err: ConfigError): ConfigError[] {
  return err instanceof ConfigErrors ? err.problems : [err];
}

/** A config with `watch.inbox` (on disk media) given as YAML lines indented for that key. */
function inbox(body: string, extra = ''): string {
  return `${DISKS}${extra}\nwatch:\n  inbox:\n${body}\n`;
}

/** The watch named `name`; fails when there is none. */
function watchOf(config: StoragedConfig, name = 'inbox'): WatchConfig {
  const watch = config.watches.find((w) => w.name === name);
  if (watch === undefined) throw new Error(`no watch '${name}'`);
  return watch;
}

/** The hook of `kind` in `watch`, typed; fails when there is none. */
function hookOf<K extends HookConfig['kind']>(watch: WatchConfig, kind: K): Extract<HookConfig, { kind: K }> {
  const hook = watch.hooks.find((h): h is Extract<HookConfig, { kind: K }> => h.kind === kind);
  if (hook === undefined) throw new Error(`no ${kind} hook`);
  return hook;
}

const FULL = `
cache: { dir: var/cache }
clamd: { socket: run/clamd.ctl, timeout: 10, max_size: 50MiB }
hooks: { concurrency: 4, retry_delay: 0.5, max_retry_delay: 60 }
disks:
  media: { driver: memory }
watch:
  inbox:
    disk: media
    path: ./inbox/
    rules: { max_size: 20MiB, extensions: [.JPG, jpeg, Png, pdf, jpg], sniff: false }
    scan: true
    rejected: storage/rejected/inbox
    quarantine: /srv/quarantine
    hooks:
      - metadata
      - thumbnails: { to: thumbs, sizes: [{ width: 150, height: 150, fit: cover }, { width: 800, height: 600, fit: inside }], format: avif, quality: 70 }
      - optimise: { max_width: 2048, max_height: 1024, quality: 85 }
      - convert: { format: webp, quality: 90, keep_original: true }
      - watermark: { image: assets/logo.png, position: top-left, opacity: 0.7, margin: 8 }
      - command: { run: [bin/tagger, --fast], timeout: 5 }
      - module: { path: hooks/tag.ts, export: tag, timeout: 2.5 }
  drop:
    local: drop
    stable_ms: 500
    hooks:
      - metadata: {}
      - command: { run: [tagger, x] }
`;

describe('watch config: a full example', () => {
  it('resolves every section into typed, camelCase structures', () => {
    const { config, dir } = load(FULL);
    expect(config.clamd).toEqual({ socket: { path: join(dir, 'run/clamd.ctl') }, timeoutMs: 10_000, maxStreamBytes: 50 * 2 ** 20 });
    expect(config.hooks).toEqual({ concurrency: 4, retryDelayMs: 500, maxRetryDelayMs: 60_000 });
    expect(config.watches.map((w) => w.name)).toEqual(['inbox', 'drop']);
    expect(watchOf(config)).toEqual({
      name: 'inbox',
      kind: 'disk',
      disk: 'media',
      path: 'inbox',
      stableMs: 2000,
      rules: { maxSize: 20 * 2 ** 20, allowedExtensions: ['jpg', 'jpeg', 'png', 'pdf'], sniff: false },
      scan: true,
      rejectedDir: join(dir, 'storage/rejected/inbox'),
      quarantineDir: '/srv/quarantine',
      hooks: [
        { kind: 'metadata' },
        {
          kind: 'thumbnails',
          to: 'thumbs',
          sizes: [
            { name: '150x150', width: 150, height: 150, fit: 'cover', format: 'avif', quality: 70 },
            { name: '800x600', width: 800, height: 600, fit: 'inside', format: 'avif', quality: 70 },
          ],
        },
        { kind: 'optimise', maxWidth: 2048, maxHeight: 1024, quality: 85 },
        { kind: 'convert', format: 'webp', quality: 90, keepOriginal: true },
        { kind: 'watermark', image: join(dir, 'assets/logo.png'), position: 'top-left', opacity: 0.7, margin: 8 },
        { kind: 'command', run: [join(dir, 'bin/tagger'), '--fast'], timeoutMs: 5000 },
        { kind: 'module', path: join(dir, 'hooks/tag.ts'), exportName: 'tag', timeoutMs: 2500 },
      ],
    } satisfies WatchConfig);
    expect(watchOf(config, 'drop')).toEqual({
      name: 'drop',
      kind: 'local',
      localPath: join(dir, 'drop'),
      stableMs: 500,
      rules: { sniff: true },
      scan: false,
      rejectedDir: join(dir, 'var/cache/rejected/drop'),
      quarantineDir: join(dir, 'var/cache/quarantine/drop'),
      hooks: [{ kind: 'metadata' }, { kind: 'command', run: ['tagger', 'x'], timeoutMs: 60_000 }],
    } satisfies WatchConfig);
  });

  it('maps onto the processing options as is (types checked by tsc, values by sharp)', async () => {
    const { config, dir } = load(FULL);
    const watch = watchOf(config);
    const rules: UploadRules = watch.rules satisfies WatchRules;
    const scanner: ClamdScannerOptions = config.clamd! satisfies ClamdConfig;
    expect(rules.allowedExtensions).toContain('png');
    expect(scanner.timeoutMs).toBe(10_000);

    const photo = await sharp({ create: { width: 1200, height: 900, channels: 3, background: '#3060a0' } }).jpeg().toBuffer();
    const specs: readonly ThumbnailSpec[] = hookOf(watch, 'thumbnails').sizes;
    const made = await thumbnails(photo, specs);
    expect(made.map((t) => [t.name, t.format, t.width, t.height])).toEqual([
      ['150x150', 'avif', 150, 150],
      ['800x600', 'avif', 800, 600],
    ]);
    const optimiseOptions: OptimiseOptions = hookOf(watch, 'optimise');
    expect(await optimise(photo, optimiseOptions)).toMatchObject({ width: 1200, height: 900 });
    const convertOptions: ConvertOptions = hookOf(watch, 'convert');
    expect(await convert(photo, convertOptions)).toMatchObject({ format: 'webp' });
    const mark = hookOf(watch, 'watermark');
    mkdirSync(join(dir, 'assets'));
    await sharp({ create: { width: 64, height: 32, channels: 4, background: { r: 255, g: 255, b: 255, alpha: 0.8 } } }).png().toFile(mark.image);
    const watermarkOptions: WatermarkOptions = mark;
    expect(await watermark(photo, watermarkOptions)).toMatchObject({ width: 1200, height: 900 });
  });
});

describe('watch config: defaults', () => {
  it('without the sections: default hook settings, no clamd, no watches', () => {
    const { config } = load(DISKS);
    expect(config.hooks).toEqual({ concurrency: 2, retryDelayMs: 1000, maxRetryDelayMs: 300_000 });
    expect(config.clamd).toBeUndefined();
    expect(config.watches).toEqual([]);
  });

  it('sections left empty (all commented out) count as absent', () => {
    const { config } = load(`${DISKS}\nclamd:\nhooks:\nwatch:\n`);
    expect(config.clamd).toBeUndefined();
    expect(config.hooks.concurrency).toBe(2);
    expect(config.watches).toEqual([]);
  });

  it('a watch with only a disk watches the whole disk, set-aside folders under cache.dir', () => {
    const { config, dir } = load(inbox('    disk: media\n    hooks:'));
    expect(watchOf(config)).toEqual({
      name: 'inbox',
      kind: 'disk',
      disk: 'media',
      path: '',
      stableMs: 2000,
      rules: { sniff: true },
      scan: false,
      rejectedDir: join(dir, 'cache/rejected/inbox'),
      quarantineDir: join(dir, 'cache/quarantine/inbox'),
      hooks: [],
    });
  });

  it('clamd over TCP defaults to port 3310, 30 s, 25MiB; numbers may come from ${VAR}', () => {
    const text = `${DISKS}\nclamd: { host: 127.0.0.1 }\nhooks: { concurrency: \${N} }\n`;
    const config = parseConfig(text, 'config.yaml', temp, { N: '8' });
    expect(config.clamd).toEqual({ socket: { host: '127.0.0.1', port: 3310 }, timeoutMs: 30_000, maxStreamBytes: 25 * 2 ** 20 });
    expect(config.hooks.concurrency).toBe(8);
  });

  it('hook options take their defaults', () => {
    const { config } = load(
      inbox(`    disk: media
    hooks:
      - thumbnails: { to: t, sizes: [{ width: 10, height: 20 }] }
      - optimise: { max_width: 100 }
      - convert: { format: png }
      - watermark: { image: /srv/logo.png }
      - command: { run: [/bin/true] }
      - module: { path: /srv/hook.js }`),
    );
    expect(watchOf(config).hooks).toEqual([
      { kind: 'thumbnails', to: 't', sizes: [{ name: '10x20', width: 10, height: 20, fit: 'cover', format: 'webp', quality: 80 }] },
      { kind: 'optimise', maxWidth: 100, maxHeight: 65_535, quality: 80 },
      { kind: 'convert', format: 'png', keepOriginal: false },
      { kind: 'watermark', image: '/srv/logo.png', position: 'bottom-right', opacity: 0.5, margin: 16 },
      { kind: 'command', run: ['/bin/true'], timeoutMs: 60_000 },
      { kind: 'module', path: '/srv/hook.js', exportName: 'default', timeoutMs: 60_000 },
    ]);
  });
});

describe('watch config: relative paths', () => {
  it('resolve against the config file folder; absolute ones and PATH commands stay', () => {
    const { config, dir } = load(`
cache: { dir: /var/cache/storaged }
disks: { media: { driver: memory } }
watch:
  a:
    local: ../drop/a
    rejected: out/rejected
    quarantine: /q
    hooks:
      - command: { run: [./bin/x.sh, ./not-a-program-arg] }
      - command: { run: [convert-it, ./arg] }
      - module: { path: ./m.js }
      - watermark: { image: logo.png }
  b:
    local: /srv/b
`);
    const a = watchOf(config, 'a');
    expect(a.localPath).toBe(resolve(dir, '../drop/a'));
    expect(a.rejectedDir).toBe(join(dir, 'out/rejected'));
    expect(a.quarantineDir).toBe('/q');
    expect(a.hooks).toEqual([
      { kind: 'command', run: [join(dir, 'bin/x.sh'), './not-a-program-arg'], timeoutMs: 60_000 },
      { kind: 'command', run: ['convert-it', './arg'], timeoutMs: 60_000 },
      { kind: 'module', path: join(dir, 'm.js'), exportName: 'default', timeoutMs: 60_000 },
      { kind: 'watermark', image: join(dir, 'logo.png'), position: 'bottom-right', opacity: 0.5, margin: 16 },
    ]);
    const b = watchOf(config, 'b');
    expect(b).toMatchObject({ localPath: '/srv/b', rejectedDir: '/var/cache/storaged/rejected/b', quarantineDir: '/var/cache/storaged/quarantine/b' });
  });
});

describe('watch config: errors name the key', () => {
  const cases: Array<[string, string, string, RegExp?]> = [
    ['an unknown disk', inbox('    disk: medai'), 'watch.inbox.disk', /not configured \(did you mean 'media'\?\)/],
    ['both disk and local', inbox('    disk: media\n    local: /srv/drop'), 'watch.inbox.local', /not both/],
    ['path with local', inbox('    path: x\n    local: /srv/drop'), 'watch.inbox.local', /not both/],
    ['neither disk nor local', inbox('    scan: false'), 'watch.inbox', /needs disk:/],
    ['a path without its disk', inbox('    path: inbox'), 'watch.inbox.disk', /required with path/],
    ['scan without clamd', inbox('    disk: media\n    scan: true'), 'watch.inbox.scan', /clamd/],
    ['an unknown bare hook', inbox('    disk: media\n    hooks: [metadata, thumbnail]'), 'watch.inbox.hooks.1', /unknown hook 'thumbnail' \(did you mean 'thumbnails'\?\)/],
    ['an unknown object hook', inbox('    disk: media\n    hooks: [{ resize: { width: 3 } }]'), 'watch.inbox.hooks.0', /unknown hook 'resize'/],
    ['a bare hook that needs options', inbox('    disk: media\n    hooks: [optimise]'), 'watch.inbox.hooks.0', /needs options/],
    ['a hook object with two keys', inbox('    disk: media\n    hooks:\n      - { metadata: {}, optimise: { quality: 50 } }'), 'watch.inbox.hooks.0', /one key/],
    ['an empty run', inbox('    disk: media\n    hooks: [{ command: { run: [] } }]'), 'watch.inbox.hooks.0.command.run', /program/],
    ['an empty program', inbox("    disk: media\n    hooks: [{ command: { run: [''] } }]"), 'watch.inbox.hooks.0.command.run.0', /empty/],
    [
      'a thumbnail size twice',
      inbox('    disk: media\n    hooks:\n      - thumbnails: { to: t, sizes: [{ width: 9, height: 9 }, { width: 9, height: 9, fit: inside }] }'),
      'watch.inbox.hooks.0.thumbnails.sizes.1',
      /9x9 is listed twice/,
    ],
    ['a fit thumbnails() lacks', inbox('    disk: media\n    hooks: [{ thumbnails: { to: t, sizes: [{ width: 9, height: 9, fit: fill }] } }]'), 'watch.inbox.hooks.0.thumbnails.sizes.0.fit'],
    ['thumbnails into the root', inbox("    disk: media\n    hooks: [{ thumbnails: { to: '.', sizes: [{ width: 9, height: 9 }] } }]"), 'watch.inbox.hooks.0.thumbnails.to', /root/],
    ['a path out of the disk', inbox('    disk: media\n    path: inbox/../../etc'), 'watch.inbox.path', /'\.\.' climbs out/],
    ['an absolute disk path', inbox('    disk: media\n    path: /inbox'), 'watch.inbox.path', /absolute/],
    ['stable_ms on a disk folder', inbox('    disk: media\n    stable_ms: 100'), 'watch.inbox.stable_ms', /local folders only/],
    ['a bad max_size', inbox('    disk: media\n    rules: { max_size: 20 parsecs }'), 'watch.inbox.rules.max_size', /invalid size/],
    ['a misspelt rule', inbox('    disk: media\n    rules: { max_sise: 1MiB }'), 'watch.inbox.rules.max_sise', /did you mean 'max_size'/],
    ['a two-dot extension', inbox('    disk: media\n    rules: { extensions: [pdf, tar.gz] }'), 'watch.inbox.rules.extensions.1', /write 'gz'/],
    ['an opacity over 1', inbox('    disk: media\n    hooks: [{ watermark: { image: a.png, opacity: 2 } }]'), 'watch.inbox.hooks.0.watermark.opacity'],
    ['a misspelt hook option', inbox('    disk: media\n    hooks: [{ module: { path: a.js, exprot: x } }]'), 'watch.inbox.hooks.0.module.exprot', /did you mean 'export'/],
    ['a quality of 0', inbox('    disk: media\n    hooks: [{ optimise: { quality: 0 } }]'), 'watch.inbox.hooks.0.optimise.quality'],
    ['a name that is no folder name', `${DISKS}\nwatch:\n  'in/box': { disk: media }\n`, 'watch.in/box', /letters, digits/],
    ['clamd with socket and host', `${DISKS}\nclamd: { socket: /run/c.ctl, host: localhost }\n`, 'clamd', /not both/],
    ['clamd with neither', `${DISKS}\nclamd: { timeout: 5 }\n`, 'clamd', /needs socket/],
    ['a clamd port without host', `${DISKS}\nclamd: { socket: /run/c.ctl, port: 3310 }\n`, 'clamd.port', /host/],
    ['a clamd key misspelt', `${DISKS}\nclamd: { hots: localhost }\n`, 'clamd.hots', /did you mean 'host'/],
    ['33 hook jobs at once', `${DISKS}\nhooks: { concurrency: 33 }\n`, 'hooks.concurrency'],
    ['a first retry longer than the cap', `${DISKS}\nhooks: { retry_delay: 10, max_retry_delay: 5 }\n`, 'hooks.retry_delay', /max_retry_delay/],
  ];

  it.each(cases)('%s', (_what, text, key, message) => {
    const err = rejection(text);
    const found = problems(err).find((p) => p.key === key);
    expect(found, `problems: ${err.message}`).toBeInstanceOf(ConfigError);
    expect(found!.code).toBe('EINVAL');
    expect(err.message).toContain(`config.yaml: ${key}: `);
    if (message) expect(found!.message).toMatch(message);
  });

  it.each([
    ['the same folder', 'inbox', 'inbox/', 'watch.b.path', /is the same folder as 'inbox' of disk 'media', watched by 'a'/],
    ['a folder inside another', 'inbox', 'inbox/2026', 'watch.b.path', /is inside 'inbox'/],
    ['a folder around another', 'inbox/2026', "''", 'watch.b.path', /the whole of disk 'media' contains 'inbox\/2026' of disk 'media'/],
  ])('two watches on %s of one disk', (_what, a, b, key, message) => {
    const err = rejection(`${DISKS}\nwatch:\n  a: { disk: media, path: ${a} }\n  b: { disk: media, path: ${b} }\n`);
    expect(problems(err).map((p) => p.key)).toEqual([key]);
    expect(err.message).toMatch(message);
  });

  it('the same folder on two disks is fine', () => {
    const config = parseConfig(`${DISKS}\nwatch:\n  a: { disk: media, path: in }\n  b: { disk: other, path: in }\n`, 'config.yaml', temp, {});
    expect(config.watches.map((w) => `${w.disk}:${w.path}`)).toEqual(['media:in', 'other:in']);
  });

  it('local folders may not nest, nor hold a set-aside folder', () => {
    const nested = rejection(`${DISKS}\nwatch:\n  a: { local: /srv/drop }\n  b: { local: /srv/drop/sub }\n`);
    expect(problems(nested).map((p) => p.key)).toEqual(['watch.b.local']);
    const loop = rejection(`${DISKS}\nwatch:\n  a: { local: /srv/drop, rejected: /srv/drop/rejected }\n`);
    expect(problems(loop).map((p) => p.key)).toEqual(['watch.a.rejected']);
    const sibling = parseConfig(`${DISKS}\nwatch:\n  a: { local: /srv/drop }\n  b: { local: /srv/drop2 }\n`, 'config.yaml', temp, {});
    expect(sibling.watches).toHaveLength(2);
  });

  it('lists every problem of every watch at once', () => {
    const err = rejection(`${DISKS}\nwatch:\n  a: { disk: nope }\n  b: { disk: media, scan: true, hooks: [bogus] }\n`);
    expect(err).toBeInstanceOf(ConfigErrors);
    expect(problems(err).map((p) => p.key)).toEqual(['watch.a.disk', 'watch.b.scan', 'watch.b.hooks.0']);
  });
});

describe('the committed config.yaml', () => {
  const text = readFileSync(join(repoRoot, 'config.yaml'), 'utf8');
  const env = { STORAGED_SIGNING_KEY: 'k'.repeat(32) };
  /** Uncomments one level of `# key:` lines (as test/core/config.test.ts does) and, with `lists`, `# - item` lines. */
  const uncomment = (lists: boolean) => {
    const keys = text.replace(/^(\s*)# ( *[a-z][a-z0-9_]*:(?: .*)?)$/gm, '$1$2');
    const withLists = lists ? keys.replace(/^(\s*)# ( *- .*)$/gm, '$1$2') : keys;
    // Keep only the top of the file: the drop-folder sections, none of the disk examples (their ${VARS}).
    return withLists.slice(0, withLists.indexOf('\ndisks:')) + '\ndisks:\n  local: { driver: local, root: storage/app }\n';
  };

  it('has no drop folders as committed', () => {
    expect(loadConfig(join(repoRoot, 'config.yaml'), {}).watches).toEqual([]);
  });

  it('has a drop-folder example that is valid once uncommented, hooks and all', () => {
    const keysOnly = parseConfig(uncomment(false), 'config.yaml (uncommented)', repoRoot, env);
    expect(keysOnly.clamd).toEqual({ socket: { path: '/run/clamav/clamd.ctl' }, timeoutMs: 30_000, maxStreamBytes: 25 * 2 ** 20 });
    expect(watchOf(keysOnly)).toMatchObject({ kind: 'disk', disk: 'local', path: 'inbox', scan: true, hooks: [] });
    const full = parseConfig(uncomment(true), 'config.yaml (uncommented)', repoRoot, env);
    expect(watchOf(full).hooks.map((h) => h.kind)).toEqual(['metadata', 'thumbnails', 'optimise', 'convert', 'watermark', 'command', 'module']);
  });
});
