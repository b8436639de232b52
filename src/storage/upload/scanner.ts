import { FsError } from '../../core/errors.js';
import { parseSize } from '../../core/config/size.js';
import { createClamdScanner, type ClamdScanner } from '../../processing/scan/index.js';

/** Debian's clamd socket (clamav-daemon), what `virusScan: true` uses. */
export const DEFAULT_CLAMD_SOCKET = '/run/clamav/clamd.ctl';

/** Where clamd listens and how long to wait, as config.yaml's `clamd:` section says it (camelCase). */
export interface ClamdUploadOptions {
  /** clamd's LocalSocket path; exclusive with host/port. */
  socket?: string;
  /** clamd's TCPAddr (default 127.0.0.1 when a port is given). */
  host?: string;
  /** clamd's TCPSocket. */
  port?: number;
  /** Longest wait with no progress from clamd, in seconds (default 30). */
  timeout?: number;
  /** clamd's StreamMaxLength: larger uploads fail the scan (EFBIG) without being sent. */
  maxSize?: number | string;
}

/** The scanner of `virusScan` (undefined: no scan); EINVAL names a bad option. */
export function scannerFrom(value: ClamdScanner | ClamdUploadOptions | boolean | undefined): ClamdScanner | undefined {
  if (value === undefined || value === false) return undefined;
  if (value === true) return scannerFrom({ socket: DEFAULT_CLAMD_SOCKET });
  if (isScanner(value)) return value;
  if (typeof value !== 'object' || value === null) throw badOption(`expected a ClamdScanner, clamd options or a boolean, got ${String(value)}`);
  const { socket, host, port } = value;
  if (socket !== undefined && (host !== undefined || port !== undefined)) throw badOption('give either socket or host/port, not both');
  if (socket === undefined && port === undefined) throw badOption('give a socket path or a port');
  const timeout = value.timeout ?? 30;
  if (!(typeof timeout === 'number' && timeout > 0)) throw badOption(`timeout must be a positive number of seconds, got ${String(timeout)}`);
  let maxStreamBytes: number | undefined;
  try {
    maxStreamBytes = value.maxSize === undefined ? undefined : parseSize(value.maxSize);
  } catch (err) {
    throw badOption(`maxSize: ${(err as Error).message}`);
  }
  return createClamdScanner({
    socket: socket !== undefined ? { path: socket } : { host: host ?? '127.0.0.1', port: port as number },
    timeoutMs: timeout * 1000,
    ...(maxStreamBytes !== undefined ? { maxStreamBytes } : {}),
  });
}

function isScanner(value: object): value is ClamdScanner {
  return typeof (value as Partial<ClamdScanner>).scan === 'function';
}

function badOption(message: string): FsError {
  return new FsError('EINVAL', `upload config virusScan: ${message}`, { op: 'config' });
}
