import { Storage, type StorageOptions } from '@google-cloud/storage';

/** Retries after a failed attempt (the SDK only retries idempotent requests). */
const MAX_RETRIES = 2;
/**
 * Longest pause between attempts, in seconds. The SDK retries requests that
 * got no response at all (connection refused included) regardless of its
 * retryableErrorFn, so this pause is what a refused connection costs.
 */
const MAX_RETRY_DELAY_SECONDS = 1;

type Interceptor = NonNullable<StorageOptions['interceptors_']>[number];

/**
 * The SDK sends its JSON API requests (and simple uploads) through
 * teeny-request's shared `forever` agent: keep-alive with NO idle timeout, so
 * it reuses sockets the server is closing (Node servers close idle ones
 * after 5 s) and requests fail with "socket hang up"; uploads, copies and
 * deletes are not retried. Measured on the emulator: 25 of 400 writes lost
 * that way. Without `forever` the request uses Node's global agent, which
 * keeps sockets alive but drops idle ones after 5 s, or 1 s before the
 * timeout a server announces in Keep-Alive. Per client, through the SDK's
 * request interceptor (resumable uploads go through gaxios, which already
 * uses the global agent).
 */
const NO_FOREVER_AGENT: Interceptor = {
  // The interceptor gets the decorated request options (uri already set); `forever` is a teeny-request option.
  request: (reqOpts) => ({ ...reqOpts, forever: false }) as ReturnType<Interceptor['request']>,
};

/** What the gcs driver needs to build its SDK client. */
export interface GcsClientSettings {
  /** API endpoint (emulator or private endpoint); absent: the SDK's default (storage.googleapis.com). */
  endpoint?: string;
  /** Path of a service-account JSON key; absent: application default credentials. */
  keyFile?: string;
  projectId?: string;
  /** Per-request timeout in milliseconds (also bounds the retry budget). */
  timeoutMs: number;
  /**
   * The endpoint is the firebase-tools storage emulator (or a server with the
   * same routes): JSON API paths without the `/storage/v1` prefix and no
   * OAuth (there is no token server to ask).
   */
  emulator: boolean;
}

/**
 * Builds the SDK client for one disk. Everything comes from `settings`; the
 * process environment is not needed for correctness:
 *
 * - With an endpoint, it is the `apiEndpoint` and wins over
 *   STORAGE_EMULATOR_HOST. The SDK derives its JSON API base URL from that env
 *   var at construction (`${endpoint}/storage/v1` without it, the bare host
 *   with it); the emulator serves PATCH (setMetadata) and copy/rewrite only
 *   on the bare-host paths, so in emulator mode the base URL of THIS client is
 *   set to the bare endpoint — per client, no global env change.
 * - Outside emulator mode a custom endpoint still gets OAuth
 *   (`useAuthWithCustomEndpoint`), as a private endpoint needs it.
 * - Retries are few and short: at most 2 retries, 1 s apart, so a refused
 *   connection fails in about 2 s and a silent endpoint after about 3
 *   request timeouts (3 x `timeout`). Non-idempotent writes (uploads without
 *   preconditions) are never retried by the SDK.
 */
export function createGcsClient(settings: GcsClientSettings): Storage {
  const options: StorageOptions = {
    timeout: settings.timeoutMs,
    interceptors_: [NO_FOREVER_AGENT],
    retryOptions: {
      autoRetry: true,
      maxRetries: MAX_RETRIES,
      retryDelayMultiplier: 2,
      maxRetryDelay: MAX_RETRY_DELAY_SECONDS,
      // retry-request 7 never calls back once this budget runs out between
      // attempts (the request hangs forever), so it must outlast every attempt
      // and delay: the attempts and their timeouts are the real bound.
      totalTimeout: Math.ceil(((MAX_RETRIES + 1) * settings.timeoutMs) / 1000 + MAX_RETRIES * (MAX_RETRY_DELAY_SECONDS + 1)) + 30,
    },
  };
  if (settings.projectId !== undefined) options.projectId = settings.projectId;
  if (settings.keyFile !== undefined) options.keyFilename = settings.keyFile;
  const endpoint = settings.endpoint?.replace(/\/+$/, '');
  if (endpoint !== undefined) {
    options.apiEndpoint = endpoint;
    options.useAuthWithCustomEndpoint = !settings.emulator;
  }
  const storage = new Storage(options);
  if (endpoint !== undefined) {
    // Service.baseUrl is public in the SDK's typings; see the doc comment for why.
    storage.baseUrl = settings.emulator ? storage.apiEndpoint : `${storage.apiEndpoint}/storage/v1`;
  }
  return storage;
}

/**
 * Emulator mode when not stated: an endpoint over plain http. Google's own
 * endpoints (public and private) are https only; local emulators are http.
 */
export function looksLikeEmulator(endpoint: string | undefined): boolean {
  if (endpoint === undefined) return false;
  try {
    return new URL(endpoint).protocol === 'http:';
  } catch {
    return false;
  }
}
