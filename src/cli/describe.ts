import type { DiskConfig } from '../core/config/schema.js';

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
export function diskLabel(disk: DiskConfig): string {
  return disk.driver === 'memory' ? '(memory)' : `(${disk.driver}, ${diskLocation(disk)})`;
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
