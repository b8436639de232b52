import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import type { z } from 'zod';
import { isWithin, normalizeDirectory } from '../paths.js';
import { ConfigError, suggest } from './errors.js';
import { parseSize } from './size.js';
import {
  clamdSchema,
  HOOK_NAMES,
  hookSchemas,
  hookSettingsSchema,
  watchRulesSchema,
  watchSchema,
  type ClamdConfig,
  type HookConfig,
  type HookName,
  type HookSettings,
  type ThumbnailSize,
  type WatchConfig,
  type WatchRules,
} from './watch-schema.js';

export type * from './watch-schema.js';

/** What the drop-folder sections resolve against. */
export interface WatchResolveContext {
  /** What errors call the config's source (the file). */
  file: string;
  /** Folder that relative local paths resolve against (the config file's). */
  baseDir: string;
  /** The cache folder, absolute: rejected/quarantine folders default below it. */
  cacheDir: string;
  /** Every configured disk name (built-in and custom drivers). */
  diskNames: readonly string[];
}

/** The resolved `clamd:`, `hooks:` and `watch:` sections. */
export interface WatchSections {
  clamd?: ClamdConfig;
  hooks: HookSettings;
  /** In file order. */
  watches: WatchConfig[];
}

/** Raw (parsed YAML) values of the three top-level keys; null or absent means "not configured". */
export interface RawWatchSections {
  clamd?: unknown;
  hooks?: unknown;
  watch?: Record<string, unknown> | null;
}

/**
 * Validates `clamd:`, `hooks:` and every `watch.<name>:` (see watch-schema.ts),
 * checks what spans keys (disk xor local, known disks and hooks, scan needs
 * clamd, no '..' out of a disk, no two watches on one folder or nested), and
 * resolves relative local paths against `ctx.baseDir`. Each problem is pushed
 * onto `problems` as a ConfigError naming its key (`watch.inbox.rules.max_size`);
 * what failed is left out of the result, so use it only when none were pushed.
 */
export function resolveWatchSections(raw: RawWatchSections, ctx: WatchResolveContext, problems: ConfigError[]): WatchSections {
  const problem = (key: readonly string[], text: string) => problems.push(new ConfigError(ctx.file, key.join('.'), text));
  const parse = <S extends z.ZodType>(schema: S, value: unknown, key: readonly string[], keys: readonly string[]): z.output<S> | undefined => {
    const result = schema.safeParse(value, { reportInput: true });
    if (result.success) return result.data;
    problems.push(...zodProblems(result.error, ctx.file, key, keys));
    return undefined;
  };
  const sizeAt = (key: readonly string[], value: string | number): number | undefined => {
    try {
      return parseSize(value);
    } catch (err) {
      problem(key, (err as Error).message);
      return undefined;
    }
  };
  const local = (path: string) => (isAbsolute(path) ? path : resolve(ctx.baseDir, path));
  const folderKey = (key: readonly string[], path: string): string | undefined => {
    try {
      return normalizeDirectory(path);
    } catch (err) {
      problem(key, (err as Error).message);
      return undefined;
    }
  };

  function resolveClamd(value: unknown): ClamdConfig | undefined {
    const c = parse(clamdSchema, value, ['clamd'], Object.keys(clamdSchema.shape));
    if (c === undefined) return undefined;
    const maxStreamBytes = sizeAt(['clamd', 'max_size'], c.max_size);
    if (maxStreamBytes === 0) problem(['clamd', 'max_size'], 'must be more than 0');
    if (c.socket !== undefined && c.host !== undefined) problem(['clamd'], 'give either socket: (a unix socket path) or host: and port: (TCP), not both');
    else if (c.port !== undefined && c.host === undefined) problem(['clamd', 'port'], 'goes with host: (TCP); a unix socket has no port');
    else if (c.socket === undefined && c.host === undefined) problem(['clamd'], 'needs socket: (a unix socket path) or host: and port: (TCP)');
    else if (maxStreamBytes) {
      const socket = c.socket !== undefined ? { path: local(c.socket) } : { host: c.host!, port: c.port ?? 3310 };
      return { socket, timeoutMs: ms(c.timeout), maxStreamBytes };
    }
    return undefined;
  }

  function resolveHookSettings(value: unknown): HookSettings {
    const defaults = { concurrency: 2, retryDelayMs: 1000, maxRetryDelayMs: 300_000 };
    const h = parse(hookSettingsSchema, value ?? {}, ['hooks'], Object.keys(hookSettingsSchema.shape));
    if (h === undefined) return defaults;
    if (h.retry_delay > h.max_retry_delay) problem(['hooks', 'retry_delay'], `${h.retry_delay} s is more than max_retry_delay (${h.max_retry_delay} s)`);
    return { concurrency: h.concurrency, retryDelayMs: ms(h.retry_delay), maxRetryDelayMs: ms(h.max_retry_delay) };
  }

  function resolveWatch(name: string, value: unknown, haveClamd: boolean): WatchConfig | undefined {
    const key = ['watch', name];
    if (!WATCH_NAME.test(name)) {
      problem(key, `a watch name is letters, digits, '.', '_' and '-' (it names folders and job records), got '${name}'`);
      return undefined;
    }
    const w = parse(watchSchema, value, key, WATCH_KEYS);
    if (w === undefined) return undefined;
    const before = problems.length;
    let where: Pick<WatchConfig, 'kind' | 'disk' | 'path' | 'localPath'> | undefined;
    if (w.local !== undefined && (w.disk !== undefined || w.path !== undefined)) {
      problem([...key, 'local'], 'give either disk: with path: (a folder inside a mounted disk) or local: (a plain local folder), not both');
    } else if (w.local !== undefined) {
      where = { kind: 'local', localPath: local(w.local) };
    } else if (w.disk === undefined) {
      if (w.path !== undefined) problem([...key, 'disk'], 'required with path: (the disk holding the folder)');
      else problem(key, 'needs disk: (with path:) for a folder inside a mounted disk, or local: for a plain local folder');
    } else if (!ctx.diskNames.includes(w.disk)) {
      const hint = suggest(w.disk, ctx.diskNames);
      problem([...key, 'disk'], `names disk '${w.disk}', which is not configured${hint ? ` (did you mean '${hint}'?)` : ''}`);
    } else {
      const path = folderKey([...key, 'path'], w.path ?? '');
      if (path !== undefined) where = { kind: 'disk', disk: w.disk, path };
    }
    if (w.stable_ms !== undefined && w.local === undefined) problem([...key, 'stable_ms'], 'applies to local folders only (a folder inside a disk sees each close)');
    if (w.scan && !haveClamd) problem([...key, 'scan'], 'scan: true needs a `clamd:` section (where clamd listens)');
    const rules = resolveRules([...key, 'rules'], w.rules);
    const hooks = (w.hooks ?? []).map((item, index) => resolveHook([...key, 'hooks', String(index)], item));
    if (problems.length > before || where === undefined) return undefined;
    return {
      name,
      ...where,
      stableMs: w.stable_ms ?? 2000,
      rules,
      scan: w.scan,
      rejectedDir: local(w.rejected ?? join(ctx.cacheDir, 'rejected', name)),
      quarantineDir: local(w.quarantine ?? join(ctx.cacheDir, 'quarantine', name)),
      hooks: hooks as HookConfig[],
    };
  }

  function resolveRules(key: readonly string[], r: z.output<typeof watchRulesSchema>): WatchRules {
    const maxSize = r.max_size === undefined ? undefined : sizeAt([...key, 'max_size'], r.max_size);
    const extensions = r.extensions?.map((written, index) => {
      const bare = written.trim().replace(/^\./, '').toLowerCase();
      if (bare.includes('.')) problem([...key, 'extensions', String(index)], `'${written}': only the part after the last dot counts, write '${bare.slice(bare.lastIndexOf('.') + 1)}'`);
      else if (/[\s/\\]/.test(bare)) problem([...key, 'extensions', String(index)], `'${written}' is not a file extension`);
      return bare;
    });
    return {
      ...(maxSize !== undefined ? { maxSize } : {}),
      ...(extensions !== undefined ? { allowedExtensions: [...new Set(extensions)] } : {}),
      sniff: r.sniff,
    };
  }

  function resolveHook(key: readonly string[], item: unknown): HookConfig | undefined {
    let name: string;
    let options: unknown;
    if (typeof item === 'string') {
      name = item;
      if (item !== 'metadata' && isHookName(item)) {
        problem(key, `'${item}' needs options: write \`- ${item}: { ... }\``);
        return undefined;
      }
    } else if (item !== null && typeof item === 'object' && !Array.isArray(item)) {
      const names = Object.keys(item);
      if (names.length !== 1) {
        problem(key, `a hook is one key, its name, with its options; found ${names.length === 0 ? 'none' : names.join(', ')} (give each hook its own list item)`);
        return undefined;
      }
      name = names[0]!;
      options = (item as Record<string, unknown>)[name];
    } else {
      problem(key, `expected a hook: metadata, or { <hook>: { options } }; got ${JSON.stringify(item)}`);
      return undefined;
    }
    if (!isHookName(name)) {
      const hint = suggest(name, HOOK_NAMES);
      problem(key, `unknown hook '${name}'${hint ? ` (did you mean '${hint}'?)` : ''}; known hooks: ${HOOK_NAMES.join(', ')}`);
      return undefined;
    }
    const at = [...key, name];
    switch (name) {
      case 'metadata':
        return parse(hookSchemas.metadata, options, at, []) && { kind: 'metadata' };
      case 'thumbnails': {
        const o = parse(hookSchemas.thumbnails, options, at, THUMBNAIL_KEYS);
        if (o === undefined) return undefined;
        const to = folderKey([...at, 'to'], o.to);
        if (to === '') problem([...at, 'to'], 'must name a folder, not the root');
        const seen = new Set<string>();
        const sizes = o.sizes.map((s, index): ThumbnailSize => {
          const sizeName = `${s.width}x${s.height}`;
          if (seen.has(sizeName)) problem([...at, 'sizes', String(index)], `${sizeName} is listed twice (a size names its files, so each may appear once)`);
          seen.add(sizeName);
          return { name: sizeName, width: s.width, height: s.height, fit: s.fit, format: o.format, quality: o.quality };
        });
        return to ? { kind: 'thumbnails', to, sizes } : undefined;
      }
      case 'optimise': {
        const o = parse(hookSchemas.optimise, options, at, Object.keys(hookSchemas.optimise.shape));
        return o && { kind: 'optimise', maxWidth: o.max_width ?? NO_LIMIT, maxHeight: o.max_height ?? NO_LIMIT, quality: o.quality };
      }
      case 'convert': {
        const o = parse(hookSchemas.convert, options, at, Object.keys(hookSchemas.convert.shape));
        return o && { kind: 'convert', format: o.format, ...(o.quality !== undefined ? { quality: o.quality } : {}), keepOriginal: o.keep_original };
      }
      case 'watermark': {
        const o = parse(hookSchemas.watermark, options, at, Object.keys(hookSchemas.watermark.shape));
        return o && { kind: 'watermark', image: local(o.image), position: o.position, opacity: o.opacity, margin: o.margin };
      }
      case 'command': {
        const o = parse(hookSchemas.command, options, at, Object.keys(hookSchemas.command.shape));
        if (o === undefined) return undefined;
        const [program, ...args] = o.run as [string, ...string[]];
        if (program.trim() === '') {
          problem([...at, 'run', '0'], 'the program must not be empty');
          return undefined;
        }
        return { kind: 'command', run: [program.includes('/') ? local(program) : program, ...args], timeoutMs: ms(o.timeout) };
      }
      case 'module': {
        const o = parse(hookSchemas.module, options, at, Object.keys(hookSchemas.module.shape));
        return o && { kind: 'module', path: local(o.path), exportName: o.export, timeoutMs: ms(o.timeout) };
      }
    }
  }

  function checkOverlaps(watches: readonly WatchConfig[]): void {
    watches.forEach((b, i) => {
      for (const a of watches.slice(0, i)) {
        const clash = a.kind === 'disk' && b.kind === 'disk' && a.disk === b.disk ? overlap(a.path!, b.path!, isWithin) : undefined;
        const localClash = a.kind === 'local' && b.kind === 'local' ? overlap(a.localPath!, b.localPath!, isInsideLocal) : undefined;
        const how = clash ?? localClash;
        if (how === undefined) continue;
        const place = (w: WatchConfig) => (w.kind === 'disk' ? (w.path === '' ? `the whole of disk '${w.disk}'` : `'${w.path}' of disk '${w.disk}'`) : `'${w.localPath}'`);
        problem(['watch', b.name, b.kind === 'disk' ? 'path' : 'local'], `${place(b)} ${how} ${place(a)}, watched by '${a.name}' (a file would run two pipelines)`);
      }
      for (const folder of watches.filter((w) => w.kind === 'local')) {
        for (const [keyName, dir] of [['rejected', b.rejectedDir], ['quarantine', b.quarantineDir]] as const) {
          if (isInsideLocal(dir, folder.localPath!)) {
            problem(['watch', b.name, keyName], `'${dir}' is inside '${folder.localPath}', watched by '${folder.name}': files set aside there would be picked up again`);
          }
        }
      }
    });
  }

  const clamd = raw.clamd == null ? undefined : resolveClamd(raw.clamd);
  const hooks = resolveHookSettings(raw.hooks);
  const watches: WatchConfig[] = [];
  for (const [name, value] of Object.entries(raw.watch ?? {})) {
    const watch = resolveWatch(name, value, raw.clamd != null);
    if (watch !== undefined) watches.push(watch);
  }
  checkOverlaps(watches);
  return { ...(clamd !== undefined ? { clamd } : {}), hooks, watches };
}

/** The largest dimension libvips handles: an optimise bound not given means none. */
const NO_LIMIT = 65_535;
const WATCH_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const WATCH_KEYS = [...Object.keys(watchSchema.shape), ...Object.keys(watchRulesSchema.shape)];
const THUMBNAIL_KEYS = [...Object.keys(hookSchemas.thumbnails.shape), 'width', 'height', 'fit'];

function isHookName(name: string): name is HookName {
  return (HOOK_NAMES as readonly string[]).includes(name);
}

function ms(seconds: number): number {
  return Math.round(seconds * 1000);
}

/** How `b` relates to `a` ('is the same folder as', 'is inside', 'contains'), or undefined when apart. */
function overlap(a: string, b: string, within: (path: string, dir: string) => boolean): string | undefined {
  if (a === b) return 'is the same folder as';
  if (within(b, a)) return 'is inside';
  if (within(a, b)) return 'contains';
  return undefined;
}

/** True when the absolute local `path` is `dir` or lies below it. */
function isInsideLocal(path: string, dir: string): boolean {
  const rel = relative(dir, path);
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel));
}

/** ConfigErrors for zod issues, keys prefixed with `prefix`; an unknown key gets a suggestion from `known`. */
function zodProblems(error: z.ZodError, file: string, prefix: readonly string[], known: readonly string[]): ConfigError[] {
  return error.issues.map((issue) => {
    const path = [...prefix, ...issue.path.map(String)];
    if (issue.code === 'unrecognized_keys') {
      const text = issue.keys.map((k) => {
        const hint = suggest(k, known);
        return `unknown key '${k}'${hint ? ` (did you mean '${hint}'?)` : ''}`;
      });
      return new ConfigError(file, (issue.keys.length === 1 ? [...path, issue.keys[0]!] : path).join('.'), text.join('; '));
    }
    const missing = issue.code === 'invalid_type' && (issue as { input?: unknown }).input === undefined;
    return new ConfigError(file, path.join('.'), missing ? 'required' : issue.message);
  });
}
