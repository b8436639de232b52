import { join } from 'node:path';
import { ConfigError } from '../core/config/errors.js';
import { loadConfig, parseConfigObject, parseDiskConfig, type StoragedConfig } from '../core/config/loader.js';
import { fromSystemError } from '../core/errors.js';
import { resolveSigningKey } from '../core/signing.js';
import { isBuiltInDriver, type AnyDiskConfig } from './builders.js';

/**
 * Where a StorageManager's configuration comes from: a config.yaml path; an
 * object in config.yaml's shape (`{ default, disks: { name: { driver, ... } } }`,
 * snake_case keys, validated like the file); or a StoragedConfig that
 * loadConfig already returned (used as it is).
 */
export type ConfigInput = string | StoragedConfig | { disks: Record<string, unknown>; [key: string]: unknown };

/** Where relative paths resolve and `${VAR}` reads from. */
export interface ConfigEnvironment {
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** Drivers registered with extend(): disks naming them are passed through to their builder. */
  customDrivers: readonly string[];
}

/**
 * Loads the manager's configuration. Without `input`, the file the CLI would
 * use: ./config.yaml, then $STORAGED_CONFIG, else the embedded default (one
 * local disk under storage/app). Throws ConfigError / ConfigErrors (EINVAL).
 */
export function loadManagerConfig(input: ConfigInput | undefined, where: ConfigEnvironment): StoragedConfig {
  const options = { customDrivers: where.customDrivers };
  if (input === undefined || typeof input === 'string') return loadConfig(input, where.env, where.cwd, options);
  if (isLoadedConfig(input)) return input;
  return parseConfigObject(input, '<config object>', where.cwd, null, options);
}

function isLoadedConfig(input: object): input is StoragedConfig {
  return 'defaultDisk' in input && 'baseDir' in input;
}

/**
 * A disk config given at run time (configureDisk / build): `driver` plus its
 * options, with keys in config.yaml's snake_case or in camelCase (pathStyle
 * is path_style). Built-in drivers are validated with their schema (EINVAL
 * naming the key); other drivers pass through to their builder.
 */
export function runtimeDiskConfig(
  name: string,
  driverOrConfig: string | Record<string, unknown>,
  options: Record<string, unknown>,
  where: { baseDir: string; customDrivers: readonly string[] },
): AnyDiskConfig {
  const source = `configureDisk('${name}')`;
  const raw = typeof driverOrConfig === 'string' ? { ...snakeKeys(options, name, source), driver: driverOrConfig } : snakeKeys(driverOrConfig, name, source);
  const driver = raw.driver;
  if (typeof driver === 'string' && !isBuiltInDriver(driver) && where.customDrivers.includes(driver)) return { ...raw, driver };
  return parseDiskConfig(name, raw, { source, baseDir: where.baseDir });
}

/** Copies `options` with camelCase keys turned into snake_case; the same key in both spellings is EINVAL. */
function snakeKeys(options: Record<string, unknown>, name: string, source: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(options)) {
    if (value === undefined) continue;
    const snake = key.replace(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`);
    if (snake in out) throw new ConfigError(source, `disks.${name}.${snake}`, `given twice (as '${snake}' and in camelCase)`);
    out[snake] = value;
  }
  return out;
}

/**
 * The HMAC key for signed URLs, as the CLI finds it: `signing_key` from the
 * config, else the key kept in `<cache.dir>/signing-key` (created on first
 * use, so every process sharing the cache signs alike). Null, with a process
 * warning, when that file cannot be made: the disks then have no signed URLs.
 */
export function signingKeyFor(config: StoragedConfig): string | null {
  if (config.signingKey !== undefined) return config.signingKey;
  const keyFile = join(config.cache.dir, 'signing-key');
  try {
    return resolveSigningKey(undefined, keyFile);
  } catch {
    try {
      // Another process may have created the file between our check and our write.
      return resolveSigningKey(undefined, keyFile);
    } catch (err) {
      const error = fromSystemError(err, { op: 'signing key', path: keyFile });
      process.emitWarning(`storaged: ${error.message} [${error.code}]; signed URLs are disabled`, { code: 'STORAGED_SIGNING_KEY' });
      return null;
    }
  }
}
