import type { Readable } from 'node:stream';

/** Where clamd listens: a TCP address or a unix socket path. */
export type ClamdSocket = { host: string; port: number } | { path: string };

/** Options of {@link createClamdScanner}. */
export interface ClamdScannerOptions {
  /** clamd's TCPSocket/TCPAddr or LocalSocket. */
  socket: ClamdSocket;
  /**
   * The longest wait with no progress from clamd, in ms: to connect, for it
   * to accept more bytes of a stream, and for its answer after the last byte
   * (so it bounds the scan of the whole file once sent). Past it the call
   * rejects ETIMEDOUT.
   */
  timeoutMs: number;
  /**
   * Set to clamd's StreamMaxLength (bytes) to refuse larger sources here,
   * with EFBIG, before sending them. Without it clamd's own limit still
   * applies and is reported the same way.
   */
  maxStreamBytes?: number;
  /** Bytes per INSTREAM chunk (default 64 KiB). */
  chunkBytes?: number;
}

/** What clamd found: nothing, or the name of the matching signature. */
export type ScanResult = { verdict: 'clean' } | { verdict: 'infected'; signature: string };

/** Per-call details of a scan, used in error messages only. */
export interface ScanOptions {
  /** The file being scanned, named in error messages. */
  name?: string;
}

/**
 * A clamd client. Every failure (refused, timed out, size limit, unexpected
 * answer, connection closed early) rejects with an FsError whose message says
 * the scan failed; a scan never resolves 'clean' unless clamd said `OK`.
 */
export interface ClamdScanner {
  /** Resolves when clamd answers PONG; rejects like a failed scan otherwise. */
  ping(): Promise<void>;
  /**
   * Streams `source` to clamd with INSTREAM, honouring backpressure (never
   * buffers the whole source), and resolves clamd's verdict. A Readable is
   * consumed, and destroyed when the scan stops early.
   */
  scan(source: Readable | Uint8Array, options?: ScanOptions): Promise<ScanResult>;
}
