import { Client, type AccessOptions } from 'basic-ftp';
import type { FtpDiskConfig } from '../../core/config/schema.js';
import { mapFtpError } from './errors.js';

/** Seconds a connection attempt or an unanswered command may take when config.timeout is absent. */
export const DEFAULT_TIMEOUT_SECONDS = 10;

/**
 * basic-ftp login options for a disk: host, port, credentials and FTPS
 * (`secure`: true → explicit AUTH TLS, 'implicit' → implicit TLS; `tls_verify`
 * → rejectUnauthorized). A fresh object on every call: basic-ftp writes into
 * `secureOptions`.
 */
export function accessOptions(config: FtpDiskConfig): AccessOptions {
  const options: AccessOptions = {
    host: config.host,
    port: config.port,
    user: config.user,
    password: config.password,
    secure: config.secure,
  };
  if (config.secure === false) return options;
  return { ...options, secureOptions: { rejectUnauthorized: config.tls_verify, servername: serverName(config.host) } };
}

/** Milliseconds basic-ftp waits on a silent socket (connect, reply, stalled transfer). */
export function timeoutMs(config: FtpDiskConfig): number {
  return Math.round((config.timeout ?? DEFAULT_TIMEOUT_SECONDS) * 1000);
}

/**
 * Opens and logs in one control connection. Rejects with an FsError
 * (ECONNREFUSED, ETIMEDOUT, EHOSTUNREACH, EACCES for a refused login, ...)
 * naming host:port, after at most about `timeoutMs(config)` of silence.
 */
export async function connectClient(config: FtpDiskConfig): Promise<Client> {
  const client = new Client(timeoutMs(config));
  try {
    await client.access(accessOptions(config));
    return client;
  } catch (err) {
    client.close();
    throw mapFtpError(err, `${config.host}:${config.port}`, 'connect');
  }
}

/** TLS SNI must be a host name, never an IP literal. */
function serverName(host: string): string | undefined {
  return /^[\d.]+$/.test(host) || host.includes(':') ? undefined : host;
}
