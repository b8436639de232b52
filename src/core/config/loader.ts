import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import type { z } from 'zod';
import { ConfigError, ConfigErrors, suggest } from './errors.js';
import { substituteEnv, tokenizeEnv } from './env.js';
import { DRIVER_NAMES, diskSchemas, rootSchema, type DiskConfig, type DriverName } from './schema.js';
import { parseSize } from './size.js';
import { resolveWatchSections, type ClamdConfig, type HookSettings, type WatchConfig } from './watch-config.js';

/** A loaded, validated configuration with paths made absolute. */
export interface StoragedConfig {
  /** The file it came from, or null for the embedded default. */
  file: string | null;
  /** Folder that relative paths in the file are resolved against. */
  baseDir: string;
  /** Name of the default disk. */
  defaultDisk: string;
  cache: { dir: string; maxSize: number };
  /** Mount tuning (config `mount:`), sizes in bytes, times in seconds. */
  mount: MountSettings;
  /** Background uploads (config `write_back:`), times in seconds. */
  writeBack: WriteBackSettings;
  /** Secret for HMAC-signed URLs of local and ftp disks, when configured. */
  signingKey?: string;
  /** Disks by name, each validated against its driver's schema. */
  disks: Record<string, DiskConfig>;
  /**
   * Disks whose driver is one of `ConfigParseOptions.customDrivers` (drivers a
   * library user registered, e.g. with Storage.extend), kept as written after
   * `${VAR}` substitution: their builder validates them. Absent when none.
   */
  customDisks?: Record<string, CustomDiskConfig>;
  /** Every disk name (of `disks` and `customDisks`) in the order the file gives them. */
  diskOrder?: string[];
  /** clamd for scanned drop folders (config `clamd:`), when configured. */
  clamd?: ClamdConfig;
  /** How hook jobs run (config `hooks:`; defaults when absent). */
  hooks: HookSettings;
  /** Drop folders (config `watch:`) in file order; empty when none. */
  watches: WatchConfig[];
}

/** Disk names of a config in file order (`diskOrder`, else the backends then the custom disks). */
export function configuredDiskNames(config: StoragedConfig): string[] {
  return config.diskOrder ?? [...Object.keys(config.disks), ...Object.keys(config.customDisks ?? {})];
}

/** A disk of a driver storaged does not know itself: the `driver` key plus whatever else was written. */
export interface CustomDiskConfig {
  driver: string;
  [key: string]: unknown;
}

/** Options of loadConfig / parseConfig / parseConfigObject. */
export interface ConfigParseOptions {
  /**
   * Driver names, besides the built-in ones, that disks may name. Such disks
   * are not validated here; they land in `customDisks`.
   */
  customDrivers?: readonly string[];
}

/** Mount tuning shared by every mounted disk. */
export interface MountSettings {
  refreshTtl: number;
  blockSize: number;
  readAhead: number;
  fetchConcurrency: number;
  attrTimeout: number;
  entryTimeout: number;
}

/** Write-back tuning shared by every mounted disk. */
export interface WriteBackSettings {
  /** Seconds from a file's last close to its upload. */
  delay: number;
  /** Backend operations in flight per disk. */
  concurrency: number;
  /** Cap of the retry delay, seconds. */
  maxRetryDelay: number;
  /** fsync data and journal on close. */
  fsyncOnClose: boolean;
}

/** The embedded default: one public local disk under storage/app. */
export const EMBEDDED_DEFAULT_CONFIG = `default: local
disks:
  local: { driver: local, root: storage/app, url: /storage, visibility: public }
`;

/** Where loadConfig looks when no file is given: ./config.yaml, then $STORAGED_CONFIG. */
export function findConfigFile(explicit?: string, env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): string | null {
  if (explicit !== undefined) return resolve(cwd, explicit);
  const local = resolve(cwd, 'config.yaml');
  if (existsSync(local)) return local;
  if (env.STORAGED_CONFIG) return resolve(cwd, env.STORAGED_CONFIG);
  return null;
}

/**
 * Loads config.yaml: finds the file (see findConfigFile; the embedded default
 * when there is none), parses YAML, substitutes `${VAR}`, validates every key
 * and resolves relative paths against the file's folder. Throws ConfigError
 * (code EINVAL) naming the file, the key and the problem; when several keys
 * are wrong, ConfigErrors lists them all.
 */
export function loadConfig(
  explicit?: string,
  env: NodeJS.ProcessEnv = process.env,
  cwd = process.cwd(),
  options: ConfigParseOptions = {},
): StoragedConfig {
  const file = findConfigFile(explicit, env, cwd);
  if (file === null) return parseConfig(EMBEDDED_DEFAULT_CONFIG, '<embedded default>', cwd, env, null, options);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ConfigError(file, '', code === 'ENOENT' ? 'no such config file' : `cannot read: ${(err as Error).message}`);
  }
  return parseConfig(text, file, dirname(file), env, file, options);
}

/** Validates config text; `name` is what errors call the file. */
export function parseConfig(
  text: string,
  name: string,
  baseDir: string,
  env: NodeJS.ProcessEnv = process.env,
  file: string | null = name,
  options: ConfigParseOptions = {},
): StoragedConfig {
  const tokenized = tokenizeEnv(text);
  const doc = parseDocument(tokenized.text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const first = doc.errors[0]!;
    const line = first.linePos?.[0];
    throw new ConfigError(name, '', `invalid YAML${line ? ` at line ${line.line}, column ${line.col}` : ''}: ${first.message.split('\n')[0]}`);
  }
  const raw = substituteEnv(doc.toJS() ?? {}, tokenized.references, env, name);
  return parseConfigObject(raw, name, baseDir, file, options);
}

/**
 * Validates an already parsed configuration (the config.yaml shape: snake_case
 * keys, no `${VAR}` substitution) exactly as parseConfig does with a file's
 * content; `name` is what errors call its source. Relative paths resolve
 * against `baseDir`. Throws ConfigError / ConfigErrors (code EINVAL).
 */
export function parseConfigObject(
  raw: unknown,
  name: string,
  baseDir: string,
  file: string | null = null,
  options: ConfigParseOptions = {},
): StoragedConfig {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new ConfigError(name, '', 'expected a mapping with a `disks:` key at the top level');
  }

  const problems: ConfigError[] = [];
  const root = rootSchema.safeParse(raw, { reportInput: true });
  if (!root.success) {
    problems.push(...issuesToErrors(root.error, name, [], Object.keys(rootSchema.shape)));
    throw new ConfigErrors(problems);
  }

  const disks: Record<string, DiskConfig> = {};
  const customDisks: Record<string, CustomDiskConfig> = {};
  const customDrivers = options.customDrivers ?? [];
  for (const [diskName, diskRaw] of Object.entries(root.data.disks)) {
    const custom = asCustomDisk(diskRaw, customDrivers);
    if (custom !== undefined) {
      customDisks[diskName] = custom;
      continue;
    }
    const parsed = parseDisk(diskName, diskRaw, name, customDrivers);
    if (parsed instanceof Array) problems.push(...parsed);
    else disks[diskName] = resolveDiskPaths(parsed, baseDir);
  }
  const diskNames = Object.keys(root.data.disks);
  if (diskNames.length === 0) problems.push(new ConfigError(name, 'disks', 'no disks are configured'));
  const defaultDisk = root.data.default ?? diskNames[0] ?? '';
  if (root.data.default !== undefined && !(root.data.default in root.data.disks)) {
    const hint = suggest(root.data.default, diskNames);
    problems.push(
      new ConfigError(name, 'default', `names disk '${root.data.default}', which is not configured${hint ? ` (did you mean '${hint}'?)` : ''}`),
    );
  }
  const sizeAt = (key: string, value: string | number): number => {
    try {
      return parseSize(value);
    } catch (err) {
      problems.push(new ConfigError(name, key, (err as Error).message));
      return 0;
    }
  };
  const maxSize = sizeAt('cache.max_size', root.data.cache.max_size);
  const m = root.data.mount;
  const mount: MountSettings = {
    refreshTtl: m.refresh_ttl,
    blockSize: sizeAt('mount.block_size', m.block_size),
    readAhead: sizeAt('mount.read_ahead', m.read_ahead),
    fetchConcurrency: m.fetch_concurrency,
    attrTimeout: m.attr_timeout,
    entryTimeout: m.entry_timeout,
  };
  if (mount.blockSize < 4096 || mount.blockSize > 64 * 2 ** 20) {
    problems.push(new ConfigError(name, 'mount.block_size', `must be between 4KiB and 64MiB, got ${m.block_size}`));
  }
  const cacheDir = resolvePath(baseDir, root.data.cache.dir);
  const { clamd, hooks, watches } = resolveWatchSections(root.data, { file: name, baseDir, cacheDir, diskNames }, problems);
  if (problems.length > 0) throw new ConfigErrors(problems);

  return {
    file,
    baseDir,
    defaultDisk,
    cache: { dir: cacheDir, maxSize },
    mount,
    writeBack: {
      delay: root.data.write_back.delay,
      concurrency: root.data.write_back.concurrency,
      maxRetryDelay: root.data.write_back.max_retry_delay,
      fsyncOnClose: root.data.write_back.fsync_on_close,
    },
    ...(root.data.signing_key !== undefined ? { signingKey: root.data.signing_key } : {}),
    disks,
    ...(Object.keys(customDisks).length > 0 ? { customDisks } : {}),
    diskOrder: diskNames,
    ...(clamd !== undefined ? { clamd } : {}),
    hooks,
    watches,
  };
}

/**
 * Validates one disk's config (config.yaml shape, snake_case keys) against
 * its driver's schema, as loadConfig does for each entry of `disks:`; a local
 * root or gcs key_file that is relative resolves against `baseDir` (default:
 * the working directory). `source` is what errors call the origin (default
 * '<runtime>'). Throws ConfigErrors (code EINVAL) naming `disks.<name>.<key>`.
 */
export function parseDiskConfig(diskName: string, raw: unknown, options: { source?: string; baseDir?: string } = {}): DiskConfig {
  const parsed = parseDisk(diskName, raw, options.source ?? '<runtime>', []);
  if (parsed instanceof Array) throw new ConfigErrors(parsed);
  return resolveDiskPaths(parsed, options.baseDir ?? process.cwd());
}

function asCustomDisk(raw: unknown, customDrivers: readonly string[]): CustomDiskConfig | undefined {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return undefined;
  const driver = (raw as { driver?: unknown }).driver;
  if (typeof driver !== 'string' || !customDrivers.includes(driver) || driver in diskSchemas) return undefined;
  return { ...(raw as Record<string, unknown>), driver };
}

function parseDisk(diskName: string, raw: unknown, file: string, customDrivers: readonly string[]): DiskConfig | ConfigError[] {
  const key = `disks.${diskName}`;
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    return [new ConfigError(file, key, 'expected a mapping with a `driver:` key')];
  }
  const driver = (raw as { driver?: unknown }).driver;
  const known = [...DRIVER_NAMES, ...customDrivers.filter((d) => !(d in diskSchemas))];
  if (driver === undefined) {
    return [new ConfigError(file, `${key}.driver`, `required: one of ${known.join(', ')}`)];
  }
  if (typeof driver !== 'string' || !(driver in diskSchemas)) {
    const hint = typeof driver === 'string' ? suggest(driver, known) : undefined;
    return [
      new ConfigError(
        file,
        `${key}.driver`,
        `unknown driver '${String(driver)}'${hint ? ` (did you mean '${hint}'?)` : ''}; known drivers: ${known.join(', ')}`,
      ),
    ];
  }
  const schema = diskSchemas[driver as DriverName];
  const result = schema.safeParse(raw, { reportInput: true });
  if (result.success) return result.data;
  return issuesToErrors(result.error, file, ['disks', diskName], Object.keys(schema.shape), driver);
}

function issuesToErrors(error: z.ZodError, file: string, prefix: string[], knownKeys: string[], driver?: string): ConfigError[] {
  return error.issues.map((issue) => {
    const path = [...prefix, ...issue.path.map(String)];
    if (issue.code === 'unrecognized_keys') {
      const keys = (issue as { keys: string[] }).keys;
      const section = prefix.length === 0 ? issue.path[0] : undefined;
      const candidates = section === 'cache' ? CACHE_KEYS : section === 'mount' ? MOUNT_KEYS : section === 'write_back' ? WRITE_BACK_KEYS : knownKeys;
      const where = path.join('.');
      return new ConfigError(
        file,
        keys.length === 1 ? [...path, keys[0]!].join('.') : where,
        keys
          .map((k) => {
            const hint = suggest(k, candidates);
            return `unknown key '${k}'${driver ? ` for ${article(driver)} ${driver} disk` : ''}${hint ? ` (did you mean '${hint}'?)` : ''}`;
          })
          .join('; '),
      );
    }
    const missing = issue.code === 'invalid_type' && (issue as { input?: unknown }).input === undefined;
    const problem = missing ? `required${driver ? ` for ${article(driver)} ${driver} disk` : ''}` : issue.message;
    return new ConfigError(file, path.join('.'), problem);
  });
}

const CACHE_KEYS = ['dir', 'max_size'];
const WRITE_BACK_KEYS = ['delay', 'concurrency', 'max_retry_delay', 'fsync_on_close'];
const MOUNT_KEYS = ['refresh_ttl', 'block_size', 'read_ahead', 'fetch_concurrency', 'attr_timeout', 'entry_timeout'];

function resolveDiskPaths(disk: DiskConfig, baseDir: string): DiskConfig {
  if (disk.driver === 'local') return { ...disk, root: resolvePath(baseDir, disk.root) };
  if (disk.driver === 'gcs' && disk.key_file !== undefined) return { ...disk, key_file: resolvePath(baseDir, disk.key_file) };
  return disk;
}

function resolvePath(baseDir: string, path: string): string {
  return isAbsolute(path) ? path : resolve(baseDir, path);
}

function article(word: string): string {
  return /^[aefiosx]/i.test(word) ? 'an' : 'a';
}
