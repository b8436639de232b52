import { z } from 'zod';

/**
 * The config.yaml schema: snake_case keys, strict objects (a misspelled key
 * is an error, not silently ignored), one schema per driver picked by the
 * `driver` key. Drivers read the parsed, typed options from here.
 */

const visibility = z.enum(['public', 'private']);
/** A size: bytes, or text such as 25MiB (read with parseSize by the loader). */
export const size = z.union([z.number().nonnegative(), z.string().min(1)]);
/** Numbers and booleans may arrive as text from `${VAR}`: read them, but only exact forms. */
export const fromText = (value: unknown): unknown => {
  if (typeof value !== 'string') return value;
  if (/^-?\d+(\.\d+)?$/.test(value)) return Number(value);
  if (value === 'true' || value === 'false') return value === 'true';
  return value;
};
/** A boolean, also from the text 'true' / 'false'. */
export const boolean = () => z.preprocess(fromText, z.boolean());
const seconds = z.preprocess(fromText, z.number().positive());

/** Keys every disk accepts, whatever its driver. */
const commonDiskKeys = {
  /** Base URL for public files (`url()`), e.g. /storage or https://cdn.example.com. */
  url: z.string().min(1).optional(),
  /** Visibility given to files written without one. */
  visibility: visibility.optional(),
};

export const localDiskSchema = z
  .object({
    driver: z.literal('local'),
    /** Folder holding the disk; relative paths are relative to the config file. */
    root: z.string().min(1),
    ...commonDiskKeys,
  })
  .strict();

export const s3DiskSchema = z
  .object({
    driver: z.literal('s3'),
    bucket: z.string().min(1),
    region: z.string().min(1).default('us-east-1'),
    key: z.string().optional(),
    secret: z.string().optional(),
    session_token: z.string().optional(),
    /** S3-compatible endpoint (MinIO, Spaces, R2, s3rver). */
    endpoint: z.string().url().optional(),
    /** Address buckets as endpoint/bucket (MinIO, s3rver) rather than bucket.endpoint. */
    path_style: boolean().optional(),
    /** Key prefix inside the bucket that acts as the disk root. */
    prefix: z.string().optional(),
    /** Part size for multipart uploads of large streams. */
    part_size: size.optional(),
    /** Parts uploaded in parallel per multipart upload. */
    upload_concurrency: z.preprocess(fromText, z.number().int().positive()).optional(),
    /** Use object ACLs for visibility (AWS buckets made since 2023 refuse ACLs by default: set false). */
    acl: boolean().optional(),
    /** Per-request timeout in seconds. */
    timeout: seconds.optional(),
    /** Attempts per request (1 = no retry). */
    max_attempts: z.preprocess(fromText, z.number().int().positive()).optional(),
    ...commonDiskKeys,
  })
  .strict();

export const gcsDiskSchema = z
  .object({
    driver: z.literal('gcs'),
    bucket: z.string().min(1),
    project_id: z.string().optional(),
    /** Path of a service-account JSON key. */
    key_file: z.string().optional(),
    /** API endpoint, for the emulator or a private endpoint. */
    endpoint: z.string().url().optional(),
    /** The endpoint is the firebase-tools storage emulator (default: when endpoint is plain http). */
    emulator: boolean().optional(),
    /** Use object ACLs for visibility (set false for uniform bucket-level access). */
    acl: boolean().optional(),
    prefix: z.string().optional(),
    timeout: seconds.optional(),
    ...commonDiskKeys,
  })
  .strict();

export const azureDiskSchema = z
  .object({
    driver: z.literal('azure'),
    container: z.string().min(1),
    account_name: z.string().optional(),
    account_key: z.string().optional(),
    sas_token: z.string().optional(),
    connection_string: z.string().optional(),
    /** Blob endpoint, e.g. http://127.0.0.1:10000/devstoreaccount1 for azurite. */
    endpoint: z.string().url().optional(),
    /** Access tier for new blobs. */
    tier: z.enum(['Hot', 'Cool', 'Cold', 'Archive']).optional(),
    prefix: z.string().optional(),
    timeout: seconds.optional(),
    ...commonDiskKeys,
  })
  .strict();

export const ftpDiskSchema = z
  .object({
    driver: z.literal('ftp'),
    host: z.string().min(1),
    port: z.preprocess(fromText, z.number().int().min(1).max(65535)).default(21),
    user: z.string().default('anonymous'),
    password: z.string().default(''),
    /** Folder on the server that acts as the disk root. */
    root: z.string().default('/'),
    /** FTPS: true for explicit (AUTH TLS), 'implicit' for implicit TLS. */
    secure: z.preprocess(fromText, z.union([z.boolean(), z.literal('implicit')])).default(false),
    /** Verify the server's TLS certificate (FTPS). */
    tls_verify: boolean().default(true),
    /** Connections kept open per disk. */
    pool_size: z.preprocess(fromText, z.number().int().min(1).max(32)).default(4),
    timeout: seconds.optional(),
    ...commonDiskKeys,
  })
  .strict();

export const memoryDiskSchema = z
  .object({
    driver: z.literal('memory'),
    /** Added delay per operation, in milliseconds. */
    latency_ms: z.preprocess(fromText, z.number().nonnegative()).optional(),
    ...commonDiskKeys,
  })
  .strict();

/** The drivers config.yaml may name, each with its schema. */
export const diskSchemas = {
  local: localDiskSchema,
  s3: s3DiskSchema,
  gcs: gcsDiskSchema,
  azure: azureDiskSchema,
  ftp: ftpDiskSchema,
  memory: memoryDiskSchema,
} as const;

export type DriverName = keyof typeof diskSchemas;
export const DRIVER_NAMES = Object.keys(diskSchemas) as DriverName[];

export type LocalDiskConfig = z.infer<typeof localDiskSchema>;
export type S3DiskConfig = z.infer<typeof s3DiskSchema>;
export type GcsDiskConfig = z.infer<typeof gcsDiskSchema>;
export type AzureDiskConfig = z.infer<typeof azureDiskSchema>;
export type FtpDiskConfig = z.infer<typeof ftpDiskSchema>;
export type MemoryDiskConfig = z.infer<typeof memoryDiskSchema>;
export type DiskConfig = LocalDiskConfig | S3DiskConfig | GcsDiskConfig | AzureDiskConfig | FtpDiskConfig | MemoryDiskConfig;

/** Top-level keys other than disks (disks are validated one by one). */
export const rootSchema = z
  .object({
    /** Name of the disk used when none is given. */
    default: z.string().min(1).optional(),
    cache: z
      .object({ dir: z.string().min(1).default('storage/cache'), max_size: size.default('10GiB') })
      .strict()
      .default({ dir: 'storage/cache', max_size: '10GiB' }),
    /** How mounts behave (all disks). */
    mount: z
      .object({
        /** Seconds a directory listing from the backend stays fresh; older ones are refreshed in the background. */
        refresh_ttl: z.preprocess(fromText, z.number().nonnegative()).default(60),
        /** Block size of the cache and of ranged reads. */
        block_size: size.default('1MiB'),
        /** How far ahead sequential reads fetch. */
        read_ahead: size.default('8MiB'),
        /** Ranged requests in flight per file. */
        fetch_concurrency: z.preprocess(fromText, z.number().int().min(1).max(64)).default(4),
        /** Seconds the kernel may cache attributes and names. */
        attr_timeout: z.preprocess(fromText, z.number().nonnegative()).default(1),
        entry_timeout: z.preprocess(fromText, z.number().nonnegative()).default(1),
      })
      .strict()
      .default({ refresh_ttl: 60, block_size: '1MiB', read_ahead: '8MiB', fetch_concurrency: 4, attr_timeout: 1, entry_timeout: 1 }),
    /** Background uploads of mounted disks (write-back). */
    write_back: z
      .object({
        /** Seconds after a file's last close before it is uploaded (a new close restarts the wait). */
        delay: z.preprocess(fromText, z.number().nonnegative().max(86_400)).default(2),
        /** Uploads (and other backend operations) in flight per disk. */
        concurrency: z.preprocess(fromText, z.number().int().min(1).max(64)).default(4),
        /** Cap of the doubling retry delay of a failing operation, seconds. */
        max_retry_delay: z.preprocess(fromText, z.number().positive().max(86_400)).default(300),
        /** fsync the data and the journal on every close of a changed file (survives power loss, not only a crash). */
        fsync_on_close: boolean().default(true),
      })
      .strict()
      .default({ delay: 2, concurrency: 4, max_retry_delay: 300, fsync_on_close: true }),
    /** Secret for HMAC-signed temporary URLs of local and ftp disks. */
    signing_key: z.string().min(16).optional(),
    /** clamd for scanned drop folders; validated by watch-config.ts (clamdSchema). Null (all commented out) = absent. */
    clamd: z.unknown().optional(),
    /** How hook jobs run; validated by watch-config.ts (hookSettingsSchema). */
    hooks: z.unknown().optional(),
    /** Drop folders by name; each validated by watch-config.ts (watchSchema), like disks. */
    watch: z.record(z.string(), z.unknown()).nullable().optional(),
    disks: z.record(z.string(), z.unknown()),
  })
  .strict();
