import { z } from 'zod';
import { boolean, fromText, size } from './schema.js';

/**
 * The config.yaml schemas of drop folders (issue 6): `clamd:`, `hooks:` and
 * each `watch.<name>:` entry, plus the resolved, camelCase types the loader
 * hands out (see watch-config.ts for the checks across keys and the path
 * resolution). Keys are snake_case; objects are strict (a misspelled key is
 * an error); durations are seconds in the file, milliseconds once resolved.
 */

const integer = (min: number, max: number) => z.preprocess(fromText, z.number().int().min(min).max(max));
/** A path-like value; a bare number (`path: 2024`) reads as its text. */
const pathText = z.preprocess((value) => (typeof value === 'number' ? String(value) : value), z.string());
/** Seconds, more than 0, at most a day. */
const duration = z.preprocess(fromText, z.number().positive().max(86_400));
const quality = integer(1, 100);
const pixels = integer(1, 65_535);

/** Output formats of image hooks (the processing layer's ImageFormat). */
export const WATCH_IMAGE_FORMATS = ['jpeg', 'png', 'webp', 'avif'] as const;
/** How a thumbnail fills its box: the fits thumbnails() implements. */
export const THUMBNAIL_FITS = ['cover', 'inside'] as const;
/** Where a watermark sits (the processing layer's WatermarkPosition). */
export const WATERMARK_POSITIONS = ['top-left', 'top', 'top-right', 'left', 'center', 'right', 'bottom-left', 'bottom', 'bottom-right'] as const;

/** `clamd:` — one of socket or host (+ port); the either/or check is in watch-config.ts. */
export const clamdSchema = z
  .object({
    /** clamd's LocalSocket (a unix socket path). */
    socket: z.string().min(1).optional(),
    /** clamd's TCPAddr. */
    host: z.string().min(1).optional(),
    /** clamd's TCPSocket; default 3310 with `host`. */
    port: integer(1, 65_535).optional(),
    /** Seconds without progress before a scan fails (and is retried). */
    timeout: duration.default(30),
    /** clamd's StreamMaxLength: larger files fail the scan here, before being sent. */
    max_size: size.default('25MiB'),
  })
  .strict();

/** `hooks:` — how hook jobs run (every watched folder). */
export const hookSettingsSchema = z
  .object({
    /** Jobs running at once. */
    concurrency: integer(1, 32).default(2),
    /** Seconds before the first retry of a failed step; doubles on each failure. */
    retry_delay: duration.default(1),
    /** Cap of the retry delay, seconds. */
    max_retry_delay: duration.default(300),
  })
  .strict();

/** `watch.<name>.rules:` — all optional. */
export const watchRulesSchema = z
  .object({
    max_size: size.optional(),
    /** With or without the dot, any case; '' admits names without an extension. */
    extensions: z.array(pathText).optional(),
    /** The sniffed content type must agree with the extension. */
    sniff: boolean().default(true),
  })
  .strict();

/** `watch.<name>:` — disk (+ path) or local; hooks are checked item by item (hookSchemas). */
export const watchSchema = z
  .object({
    disk: z.string().min(1).optional(),
    path: pathText.optional(),
    local: z.string().min(1).optional(),
    stable_ms: integer(0, 3_600_000).optional(),
    rules: watchRulesSchema.default({ sniff: true }),
    scan: boolean().default(false),
    rejected: z.string().min(1).optional(),
    quarantine: z.string().min(1).optional(),
    hooks: z.array(z.unknown()).nullable().default([]),
  })
  .strict();

const thumbnailSizeSchema = z
  .object({ width: pixels, height: pixels, fit: z.enum(THUMBNAIL_FITS).default('cover') })
  .strict();

/** The options of each hook, by the name used in the `hooks:` list. */
export const hookSchemas = {
  metadata: z.preprocess((value) => value ?? {}, z.object({}).strict()),
  thumbnails: z
    .object({
      /** Folder for the thumbnails: on the same disk, or inside the local folder. */
      to: pathText.pipe(z.string().min(1)),
      sizes: z.array(thumbnailSizeSchema).min(1, 'list at least one size'),
      format: z.enum(WATCH_IMAGE_FORMATS).default('webp'),
      quality: quality.default(80),
    })
    .strict(),
  optimise: z.object({ max_width: pixels.optional(), max_height: pixels.optional(), quality: quality.default(80) }).strict(),
  convert: z.object({ format: z.enum(WATCH_IMAGE_FORMATS), quality: quality.optional(), keep_original: boolean().default(false) }).strict(),
  watermark: z
    .object({
      image: z.string().min(1),
      position: z.enum(WATERMARK_POSITIONS).default('bottom-right'),
      opacity: z.preprocess(fromText, z.number().min(0).max(1)).default(0.5),
      margin: integer(0, 65_535).default(16),
    })
    .strict(),
  command: z
    .object({
      run: z.array(z.string()).min(1, 'must list the program and its arguments'),
      timeout: duration.default(60),
    })
    .strict(),
  module: z
    .object({ path: z.string().min(1), export: z.string().min(1).default('default'), timeout: duration.default(60) })
    .strict(),
} as const;

/** The hook names a `hooks:` list may use. */
export type HookName = keyof typeof hookSchemas;
export const HOOK_NAMES = Object.keys(hookSchemas) as HookName[];

/** Where clamd listens and how long a scan may stall. Passes as is to createClamdScanner (ClamdScannerOptions). */
export interface ClamdConfig {
  /** A unix socket (`socket:`, made absolute) or a TCP address (`host:`, `port:` default 3310). */
  socket: { path: string } | { host: string; port: number };
  /** Longest wait without progress, ms (config seconds, default 30). */
  timeoutMs: number;
  /** Larger files fail the scan before being sent, bytes (default 25MiB). */
  maxStreamBytes: number;
}

/** How hook jobs run (config `hooks:`), in ms. */
export interface HookSettings {
  /** Jobs running at once, 1..32 (default 2). */
  concurrency: number;
  /** First retry delay of a failed step, ms (default 1000); doubles per failure. */
  retryDelayMs: number;
  /** Cap of the retry delay, ms (default 300000); never below retryDelayMs. */
  maxRetryDelayMs: number;
}

/** A folder's upload rules. Passes as is to checkUploadRules (UploadRules); `sniff` says whether to sniff at all. */
export interface WatchRules {
  /** Largest accepted size, bytes; absent: any size. */
  maxSize?: number;
  /** Accepted extensions, lower-case without the dot ('' = no extension); absent: any. */
  allowedExtensions?: string[];
  /** Sniff the content and require it to agree with the extension (default true). */
  sniff: boolean;
}

/** One thumbnail to make: a ThumbnailSpec as thumbnails() takes it, named `<width>x<height>` (unique per hook). */
export interface ThumbnailSize {
  name: string;
  width: number;
  height: number;
  fit: (typeof THUMBNAIL_FITS)[number];
  format: (typeof WATCH_IMAGE_FORMATS)[number];
  quality: number;
}

/** `- metadata`: size, type, sha256, dimensions, EXIF into the metadata index. */
export interface MetadataHookConfig {
  kind: 'metadata';
}

/** `- thumbnails:`; `sizes` passes as is to thumbnails(). Files: `<to>/<path without ext>.<name>.<format>`. */
export interface ThumbnailsHookConfig {
  kind: 'thumbnails';
  /** Normalized folder key (no '..', not the root): on the watch's disk, or inside the local folder. */
  to: string;
  sizes: ThumbnailSize[];
}

/** `- optimise:`; passes as is to optimise() (OptimiseOptions). An absent max is 65535 (no limit). */
export interface OptimiseHookConfig {
  kind: 'optimise';
  maxWidth: number;
  maxHeight: number;
  quality: number;
}

/** `- convert:`; passes as is to convert() (ConvertOptions). */
export interface ConvertHookConfig {
  kind: 'convert';
  format: (typeof WATCH_IMAGE_FORMATS)[number];
  quality?: number;
  /** Keep the original file beside the converted one (default false: it is replaced). */
  keepOriginal: boolean;
}

/** `- watermark:`; passes as is to watermark() (WatermarkOptions). */
export interface WatermarkHookConfig {
  kind: 'watermark';
  /** Absolute path of the watermark picture. */
  image: string;
  position: (typeof WATERMARK_POSITIONS)[number];
  /** 0..1, default 0.5. */
  opacity: number;
  /** Pixels from the edges, default 16. */
  margin: number;
}

/** `- command:`: runs `run` (no shell) with the file path and JSON metadata. */
export interface CommandHookConfig {
  kind: 'command';
  /** Program and arguments; the program is absolute when it was written with a '/' (else found on PATH). */
  run: string[];
  timeoutMs: number;
}

/** `- module:`: calls the module's export as a handler. */
export interface ModuleHookConfig {
  kind: 'module';
  /** Absolute path of the module. */
  path: string;
  /** The export to call (config `export:`, default 'default'). */
  exportName: string;
  timeoutMs: number;
}

/** One hook of a watched folder, discriminated on `kind` (the config name). */
export type HookConfig =
  | MetadataHookConfig
  | ThumbnailsHookConfig
  | OptimiseHookConfig
  | ConvertHookConfig
  | WatermarkHookConfig
  | CommandHookConfig
  | ModuleHookConfig;

/** A watched folder (config `watch.<name>:`), validated, with absolute local paths. */
export interface WatchConfig {
  /** The key under `watch:` (letters, digits, '.', '_', '-'). */
  name: string;
  /** 'disk': a folder inside a mounted disk; 'local': a plain local folder. */
  kind: 'disk' | 'local';
  /** kind 'disk': the configured disk. */
  disk?: string;
  /** kind 'disk': the folder's normalized key inside the disk ('' = the whole disk). */
  path?: string;
  /** kind 'local': the folder, absolute. */
  localPath?: string;
  /** kind 'local': a file is complete once unchanged this long, ms (default 2000). */
  stableMs: number;
  rules: WatchRules;
  /** Scan with clamd before any hook (then the config has `clamd`). */
  scan: boolean;
  /** Local folder for rejected files, absolute (default `<cache.dir>/rejected/<name>`). */
  rejectedDir: string;
  /** Local folder for infected files, absolute (default `<cache.dir>/quarantine/<name>`). */
  quarantineDir: string;
  /** Run in this order after the rules and the scan passed. */
  hooks: HookConfig[];
}
