import type { StoragedConfig } from '../core/config/loader.js';
import type { DiskConfig } from '../core/config/schema.js';
import type { DecoratorDiskConfig } from '../storage/decorators/config.js';

/** A disk as `storaged disks` and storage:test show it. */
export interface DiskDescription {
  /** The driver, a decorator with what it wraps: `local`, `encrypted(s3)`, `scoped(cached(s3))`. */
  driver: string;
  /** Where its files are (see diskLocation), plus what each decorator adds (prefix, key id, cache, CDN). */
  where: string;
}

/** Longest chain of decorators described (the config check already refuses loops). */
const MAX_DEPTH = 16;

/**
 * Describes disk `name` of `config` without secrets: a backend by its driver
 * and diskLocation; a decorator disk (parsed in `decorators`) by its driver
 * around the described inner disk, e.g. `encrypted(s3)` at
 * `bucket b, key k2026`.
 */
export function describeDisk(name: string, config: StoragedConfig, decorators: Record<string, DecoratorDiskConfig>, depth = 0): DiskDescription {
  const backend = config.disks[name];
  if (backend !== undefined) return { driver: backend.driver, where: diskLocation(backend) };
  const decorator = decorators[name];
  if (decorator === undefined || depth > MAX_DEPTH) return { driver: config.customDisks?.[name]?.driver ?? '?', where: '?' };
  const inner = describeDisk(decorator.disk, config, decorators, depth + 1);
  const note = decoratorNote(decorator);
  return { driver: `${decorator.driver}(${inner.driver})`, where: note === '' ? inner.where : `${inner.where}, ${note}` };
}

/** What a decorator adds to the location of the disk it wraps ('' for nothing). */
function decoratorNote(disk: DecoratorDiskConfig): string {
  switch (disk.driver) {
    case 'scoped':
      return `under ${disk.prefix}/`;
    case 'read-only':
      return '';
    case 'encrypted':
      return `key ${disk.keyId}`;
    case 'cached':
      if (disk.store.kind === 'memory') return 'cached in memory';
      if (disk.store.kind === 'folder') return `cached in ${disk.store.dir}`;
      return `cached in redis ${redisHost(disk.store.url)}`;
    case 'cdn':
      return `urls on ${disk.baseUrl}`;
  }
}

/** host:port of a Redis URL, never its password. */
function redisHost(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return '';
  }
}

/**
 * Where a disk keeps its files, in one short phrase without secrets:
 * the root folder, bucket, container or host (plus a custom endpoint).
 */
export function diskLocation(disk: DiskConfig): string {
  switch (disk.driver) {
    case 'local':
      return disk.root;
    case 's3':
      return `bucket ${disk.bucket}${prefixPart(disk.prefix)}${disk.endpoint ? ` at ${disk.endpoint}` : ''}`;
    case 'gcs':
      return `bucket ${disk.bucket}${prefixPart(disk.prefix)}${disk.endpoint ? ` at ${disk.endpoint}` : ''}`;
    case 'azure':
      return `container ${disk.container}${prefixPart(disk.prefix)}${azureAccount(disk)}`;
    case 'ftp':
      return `host ${disk.host}:${disk.port}${disk.root === '/' ? '' : ` root ${disk.root}`}${disk.secure ? ' (FTPS)' : ''}`;
    case 'memory':
      return 'in this process';
  }
}

/** `(driver, location)`: the label storage:test prints after a disk name. */
export function diskLabel(disk: DiskDescription): string {
  return disk.driver === 'memory' ? '(memory)' : `(${disk.driver}, ${disk.where})`;
}

function prefixPart(prefix: string | undefined): string {
  return prefix ? ` prefix ${prefix}` : '';
}

/** The blob endpoint or account name, from the keys or the connection string (never its AccountKey). */
function azureAccount(disk: Extract<DiskConfig, { driver: 'azure' }>): string {
  const fromString = (field: string) => new RegExp(`(?:^|;)\\s*${field}=([^;]+)`, 'i').exec(disk.connection_string ?? '')?.[1];
  const endpoint = disk.endpoint ?? fromString('BlobEndpoint');
  if (endpoint) return ` at ${endpoint}`;
  const account = disk.account_name ?? fromString('AccountName');
  return account ? ` account ${account}` : '';
}
