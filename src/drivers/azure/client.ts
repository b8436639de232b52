import {
  AnonymousCredential,
  BlobServiceClient,
  StorageSharedKeyCredential,
  type ContainerClient,
  type StoragePipelineOptions,
} from '@azure/storage-blob';
import { FsError } from '../../core/errors.js';
import type { AzureDiskConfig } from '../../core/config/schema.js';

/** Seconds per request when the disk config names no `timeout`. */
export const DEFAULT_TIMEOUT_SECONDS = 15;

/** Azure container names: 3-63 characters, lower-case letters, digits and single inner hyphens. */
const CONTAINER_NAME = /^(?=.{3,63}$)[a-z0-9]+(?:-[a-z0-9]+)*$/;
/** Containers with reserved names that are valid nonetheless. */
const SPECIAL_CONTAINERS = new Set(['$root', '$web']);

/** The container client of one disk and, when the credential is a shared key, that key (for SAS URLs). */
export interface AzureConnection {
  container: ContainerClient;
  sharedKey?: StorageSharedKeyCredential;
}

/**
 * Builds the container client from the disk config, without I/O. Auth, in
 * this order of choice: `connection_string` alone; or `account_name` +
 * `account_key` (shared key); or `sas_token` with `account_name` or
 * `endpoint`. The endpoint defaults to https://<account_name>.blob.core.windows.net.
 * Retries are few and quick (3 tries, 0.2 s then 0.4 s apart) so a wrong
 * endpoint fails in well under a second; per-request deadlines are applied by
 * the adapter (the SDK's tryTimeoutInMs only sets the server-side timeout).
 * Throws FsError EINVAL naming the disk when credentials are missing or mixed,
 * or the container name is not one Azure accepts.
 */
export function connectAzure(config: AzureDiskConfig, diskName: string): AzureConnection {
  const timeoutSeconds = config.timeout ?? DEFAULT_TIMEOUT_SECONDS;
  const pipeline: StoragePipelineOptions = {
    retryOptions: { maxTries: 3, retryDelayInMs: 200, maxRetryDelayInMs: 2000, tryTimeoutInMs: Math.ceil(timeoutSeconds) * 1000 },
    userAgentOptions: { userAgentPrefix: 'storaged' },
  };
  const invalid = (reason: string) => new FsError('EINVAL', `azure disk '${diskName}': ${reason}`, { op: 'config' });
  if (!CONTAINER_NAME.test(config.container) && !SPECIAL_CONTAINERS.has(config.container)) {
    throw invalid(`container '${config.container}' is not a valid name (3-63 lower-case letters, digits and single hyphens)`);
  }
  const service = serviceClient(config, pipeline, invalid);
  const credential = service.credential;
  return {
    container: service.getContainerClient(config.container),
    ...(credential instanceof StorageSharedKeyCredential ? { sharedKey: credential } : {}),
  };
}

function serviceClient(config: AzureDiskConfig, pipeline: StoragePipelineOptions, invalid: (reason: string) => FsError): BlobServiceClient {
  if (config.connection_string !== undefined) {
    const mixed = (['account_name', 'account_key', 'sas_token', 'endpoint'] as const).filter((k) => config[k] !== undefined);
    if (mixed.length > 0) {
      throw invalid(`give either connection_string or account_name/account_key/sas_token/endpoint, not both (also set: ${mixed.join(', ')})`);
    }
    try {
      return BlobServiceClient.fromConnectionString(config.connection_string, pipeline);
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      throw new FsError('EINVAL', invalid(`connection_string is not usable: ${reason}`).message, { op: 'config', cause: err });
    }
  }
  if (config.account_key !== undefined && config.sas_token !== undefined) {
    throw invalid('give account_key or sas_token, not both');
  }
  const endpoint = blobEndpoint(config, invalid);
  if (config.account_key !== undefined) {
    if (config.account_name === undefined) throw invalid('account_key needs account_name');
    return new BlobServiceClient(endpoint, new StorageSharedKeyCredential(config.account_name, config.account_key), pipeline);
  }
  if (config.sas_token !== undefined) {
    const sas = config.sas_token.replace(/^\?/, '');
    return new BlobServiceClient(`${endpoint}?${sas}`, new AnonymousCredential(), pipeline);
  }
  throw invalid('no credentials: set connection_string, or account_name with account_key, or sas_token (with account_name or endpoint)');
}

function blobEndpoint(config: AzureDiskConfig, invalid: (reason: string) => FsError): string {
  if (config.endpoint !== undefined) return config.endpoint.replace(/\/+$/, '');
  if (config.account_name === undefined) {
    throw invalid('no credentials: set connection_string, or account_name with account_key, or sas_token (with account_name or endpoint)');
  }
  return `https://${config.account_name}.blob.core.windows.net`;
}
