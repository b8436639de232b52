import { isAbsolute, resolve } from 'node:path';
import { z } from 'zod';
import { ConfigError, ConfigErrors, suggest } from '../../core/config/errors.js';
import { parseSize } from '../../core/config/size.js';
import { isFsError } from '../../core/errors.js';
import { MAX_CHUNK_SIZE, MIN_CHUNK_SIZE } from './encrypted/format.js';
import { checkPrefix, decodeKeys, httpUrlProblem, issuesToErrors, redisUrlProblem, type Problem } from './config-values.js';

/**
 * config.yaml disks that wrap another disk (decorators): one strict,
 * snake_case schema per decorator, in the style of src/core/config/schema.ts,
 * and the parsing that turns a disk's config into the options of its
 * create<Name>Driver. Building the drivers is config-builders.ts's job.
 *
 *   tenant:  { driver: scoped, disk: s3, prefix: tenants/acme }
 *   archive: { driver: read-only, disk: s3 }
 *   secret:  { driver: encrypted, disk: s3, keys: { k2026: "${KEY_2026}" }, key_id: k2026, chunk_size: 64KiB }
 *   fast:    { driver: cached, disk: s3, store: memory, ttl: 300, max_content_size: 1MiB, max_size: 64MiB }
 *   public:  { driver: cdn, disk: s3, url: https://cdn.example.com, invalidate_webhook: https://... }
 */

/** The decorator drivers a disk may name. */
export const DECORATOR_DRIVERS = ['scoped', 'read-only', 'encrypted', 'cached', 'cdn'] as const;

/** One of DECORATOR_DRIVERS. */
export type DecoratorDriverName = (typeof DECORATOR_DRIVERS)[number];

/** True when `driver` names a decorator. */
export function isDecoratorDriver(driver: unknown): driver is DecoratorDriverName {
  return typeof driver === 'string' && (DECORATOR_DRIVERS as readonly string[]).includes(driver);
}

/** Numbers may arrive as text from `${VAR}` (as in schema.ts): read them, but only exact forms. */
const fromText = (value: unknown): unknown => (typeof value === 'string' && /^-?\d+(\.\d+)?$/.test(value) ? Number(value) : value);
/** A cached disk's ttl when none is given, in seconds. */
const DEFAULT_TTL_SECONDS = 300;
const size = z.union([z.number().nonnegative(), z.string().min(1)]);
const seconds = z.preprocess(fromText, z.number().positive());
/** The name of the configured disk being wrapped. */
const innerDisk = z.string().min(1);

/** `{ driver: scoped, disk, prefix }`: the inner disk confined to a folder. */
export const scopedDiskSchema = z
  .object({
    driver: z.literal('scoped'),
    disk: innerDisk,
    /** Folder of the inner disk every key lives under, e.g. tenants/acme. */
    prefix: z.string().min(1),
  })
  .strict();

/** `{ driver: read-only, disk }`: the inner disk, every change refused (EROFS). */
export const readOnlyDiskSchema = z.object({ driver: z.literal('read-only'), disk: innerDisk }).strict();

/** `{ driver: encrypted, disk, keys, key_id, chunk_size? }`: files sealed with AES-256-GCM. */
export const encryptedDiskSchema = z
  .object({
    driver: z.literal('encrypted'),
    disk: innerDisk,
    /** 32-byte keys by id: base64, or `hex:` and 64 hex digits (run-time configs may give bytes). */
    keys: z.record(z.string(), z.union([z.string(), z.instanceof(Uint8Array)])),
    /** The key id new files are sealed with. */
    key_id: z.string().min(1),
    /** Plaintext bytes per sealed chunk (1KiB..16MiB, default 64KiB); keep it for the disk's lifetime. */
    chunk_size: size.optional(),
  })
  .strict();

/** `{ driver: cached, disk, store, ttl?, ... }`: metadata and small files cached in memory, a folder or Redis. */
export const cachedDiskSchema = z
  .object({
    driver: z.literal('cached'),
    disk: innerDisk,
    store: z.enum(['memory', 'folder', 'redis']),
    /** Seconds a cached answer may be served. */
    ttl: seconds.default(DEFAULT_TTL_SECONDS),
    /** Files up to this size have their content cached (default 1MiB; 0: none). */
    max_content_size: size.optional(),
    /** Bound of a memory or folder store (default 64MiB in memory, 256MiB in a folder). */
    max_size: size.optional(),
    /** Folder of a folder store, relative to the config's folder (default <cache.dir>/decorator-<disk name>). */
    path: z.string().min(1).optional(),
    /** Redis server of a redis store: redis://[user:password@]host:port[/db] or rediss://. */
    redis_url: z.string().min(1).optional(),
    /** Prefix of a redis store's keys (default storaged:<disk name>:). */
    key_prefix: z.string().optional(),
  })
  .strict();

/** `{ driver: cdn, disk, url, invalidate_*? }`: public URLs on a CDN, invalidated on change. */
export const cdnDiskSchema = z
  .object({
    driver: z.literal('cdn'),
    disk: innerDisk,
    /** The CDN's base URL; url() answers it plus the key. */
    url: z.string().min(1),
    /** POSTed {"paths":[...]} after an overwrite, delete or move. */
    invalidate_webhook: z.string().min(1).optional(),
    /** Headers of the webhook request (e.g. Authorization). */
    invalidate_headers: z.record(z.string(), z.string()).optional(),
    /** Command run (no shell) with the changed paths as extra arguments. */
    invalidate_command: z.array(z.string().min(1)).min(1).optional(),
    /** Seconds one invalidation call may take (default 10). */
    invalidate_timeout: seconds.optional(),
  })
  .strict();

/** The schema of each decorator. */
export const decoratorSchemas = {
  scoped: scopedDiskSchema,
  'read-only': readOnlyDiskSchema,
  encrypted: encryptedDiskSchema,
  cached: cachedDiskSchema,
  cdn: cdnDiskSchema,
} as const;

/** Bound of a cached disk's memory store without `max_size`. */
export const DEFAULT_MEMORY_CACHE_BYTES = 64 * 2 ** 20;
/** Bound of a cached disk's folder store without `max_size`. */
export const DEFAULT_FOLDER_CACHE_BYTES = 256 * 2 ** 20;

/** A decorator disk's config, parsed into the options of its create<Name>Driver (plus `disk`, the wrapped disk's name). */
export type DecoratorDiskConfig =
  | { driver: 'scoped'; disk: string; prefix: string }
  | { driver: 'read-only'; disk: string }
  | { driver: 'encrypted'; disk: string; keys: Record<string, Uint8Array>; keyId: string; chunkSize?: number }
  | { driver: 'cached'; disk: string; ttlMs: number; maxContentBytes?: number; store: CacheStoreConfig }
  | { driver: 'cdn'; disk: string; baseUrl: string; invalidate?: CdnInvalidationConfig };

/** Which cache store a cached disk uses, with its options. */
export type CacheStoreConfig =
  | { kind: 'memory'; maxBytes: number }
  | { kind: 'folder'; dir: string; maxBytes: number }
  | { kind: 'redis'; url: string; keyPrefix: string };

/** The cdn decorator's invalidation options (CdnInvalidation's shape). */
export interface CdnInvalidationConfig {
  webhook?: { url: string; headers?: Record<string, string> };
  command?: string[];
  timeoutMs?: number;
}

/** Where a decorator disk's config came from, for messages and relative paths. */
export interface DecoratorConfigSource {
  /** What errors call the origin: the config file, `configureDisk('name')`... */
  source: string;
  /** Folder a relative `path` resolves against. */
  baseDir: string;
  /** The config's cache.dir: a folder store's default lives under it. */
  cacheDir: string;
}

/**
 * Validates the config of decorator disk `diskName` (config.yaml shape,
 * snake_case, after `${VAR}` substitution) and returns its parsed options.
 * Throws ConfigErrors (EINVAL) listing every problem, each naming
 * `disks.<name>.<key>`; an unknown key gets the closest known one as a
 * suggestion. Key material never appears in a message.
 */
export function parseDecoratorDisk(diskName: string, raw: unknown, where: DecoratorConfigSource): DecoratorDiskConfig {
  const at = (key: string) => `disks.${diskName}${key === '' ? '' : `.${key}`}`;
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new ConfigErrors([new ConfigError(where.source, at(''), 'expected a mapping with a `driver:` key')]);
  }
  const driver = (raw as { driver?: unknown }).driver;
  if (!isDecoratorDriver(driver)) {
    throw new ConfigErrors([new ConfigError(where.source, at('driver'), `'${String(driver)}' is not a decorator (known: ${DECORATOR_DRIVERS.join(', ')})`)]);
  }
  const schema = decoratorSchemas[driver];
  const result = schema.safeParse(raw, { reportInput: true });
  if (!result.success) throw new ConfigErrors(issuesToErrors(result.error, where.source, at, Object.keys(schema.shape), driver));
  const problems: ConfigError[] = [];
  const problem = (key: string, text: string) => problems.push(new ConfigError(where.source, at(key), text));
  const parsed = finish(result.data, diskName, where, problem);
  if (parsed.disk === diskName) problem('disk', `disk '${diskName}' cannot wrap itself`);
  if (problems.length > 0) throw new ConfigErrors(problems);
  return parsed;
}

type ParsedDecorator = z.infer<(typeof decoratorSchemas)[DecoratorDriverName]>;

/** The semantic checks the schemas cannot express, and the mapping to create<Name>Driver options. */
function finish(data: ParsedDecorator, diskName: string, where: DecoratorConfigSource, problem: Problem): DecoratorDiskConfig {
  const sizeOf = (key: string, value: string | number | undefined): number | undefined => {
    if (value === undefined) return undefined;
    try {
      return parseSize(value);
    } catch (err) {
      problem(key, isFsError(err) ? err.message : String(err));
      return undefined;
    }
  };
  switch (data.driver) {
    case 'scoped':
      return { driver: 'scoped', disk: data.disk, prefix: checkPrefix(data.prefix, problem) };
    case 'read-only':
      return { driver: 'read-only', disk: data.disk };
    case 'encrypted': {
      const keys = decodeKeys(data.keys, problem);
      if (!(data.key_id in data.keys)) {
        const known = Object.keys(data.keys);
        const hint = suggest(data.key_id, known);
        problem('key_id', `'${data.key_id}' is not one of the keys${hint ? ` (did you mean '${hint}'?)` : ''}; keys: ${known.join(', ') || '(none)'}`);
      }
      const chunkSize = sizeOf('chunk_size', data.chunk_size);
      if (chunkSize !== undefined && (chunkSize < MIN_CHUNK_SIZE || chunkSize > MAX_CHUNK_SIZE)) {
        problem('chunk_size', `must be between 1KiB and 16MiB, got ${String(data.chunk_size)}`);
      }
      return { driver: 'encrypted', disk: data.disk, keys, keyId: data.key_id, ...(chunkSize !== undefined ? { chunkSize } : {}) };
    }
    case 'cached': {
      const maxContentBytes = sizeOf('max_content_size', data.max_content_size);
      const maxBytes = sizeOf('max_size', data.max_size);
      const only = (key: keyof typeof data, kinds: string) => {
        if (data[key] !== undefined) problem(key, `only for ${kinds}, not for a ${data.store} store`);
      };
      let store: CacheStoreConfig;
      if (data.store === 'redis') {
        only('max_size', 'memory and folder stores');
        only('path', 'a folder store');
        if (data.redis_url === undefined) problem('redis_url', 'required for a redis store (e.g. redis://127.0.0.1:6379)');
        else {
          const bad = redisUrlProblem(data.redis_url);
          if (bad !== undefined) problem('redis_url', bad);
        }
        store = { kind: 'redis', url: data.redis_url ?? '', keyPrefix: data.key_prefix ?? `storaged:${diskName}:` };
      } else {
        only('redis_url', 'a redis store');
        only('key_prefix', 'a redis store');
        if (data.store === 'memory') {
          only('path', 'a folder store');
          store = { kind: 'memory', maxBytes: maxBytes ?? DEFAULT_MEMORY_CACHE_BYTES };
        } else {
          const dir = data.path === undefined ? resolve(where.cacheDir, `decorator-${diskName}`) : isAbsolute(data.path) ? data.path : resolve(where.baseDir, data.path);
          store = { kind: 'folder', dir, maxBytes: maxBytes ?? DEFAULT_FOLDER_CACHE_BYTES };
        }
      }
      return { driver: 'cached', disk: data.disk, ttlMs: data.ttl * 1000, ...(maxContentBytes !== undefined ? { maxContentBytes } : {}), store };
    }
    case 'cdn': {
      const badUrl = httpUrlProblem(data.url);
      if (badUrl !== undefined) problem('url', badUrl);
      const invalidate: CdnInvalidationConfig = {};
      if (data.invalidate_webhook !== undefined) {
        const bad = httpUrlProblem(data.invalidate_webhook);
        if (bad !== undefined) problem('invalidate_webhook', bad);
        invalidate.webhook = { url: data.invalidate_webhook, ...(data.invalidate_headers ? { headers: data.invalidate_headers } : {}) };
      } else if (data.invalidate_headers !== undefined) {
        problem('invalidate_headers', 'only with invalidate_webhook');
      }
      if (data.invalidate_command !== undefined) invalidate.command = data.invalidate_command;
      const channels = invalidate.webhook !== undefined || invalidate.command !== undefined;
      if (data.invalidate_timeout !== undefined) {
        if (!channels) problem('invalidate_timeout', 'only with invalidate_webhook or invalidate_command');
        invalidate.timeoutMs = data.invalidate_timeout * 1000;
      }
      return { driver: 'cdn', disk: data.disk, baseUrl: data.url, ...(channels ? { invalidate } : {}) };
    }
  }
}
