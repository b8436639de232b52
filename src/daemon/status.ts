import type { WatchStatus } from './hooks/dispatcher-types.js';

/**
 * What a running mount reports about itself (`storaged status`, the control
 * socket). Plain JSON-serializable data: numbers, strings, arrays.
 */

/** One backend operation that failed at least once and is still being retried. */
export interface FailingOperation {
  /** What it does, e.g. 'upload', 'unlink', 'rename-dir'. */
  kind: string;
  /** The path it concerns (backend key; the new one for renames). */
  path: string;
  attempts: number;
  /** errno-style code and message of the last failure. */
  code: string;
  message: string;
  /** When the next attempt starts, ms since the epoch. */
  retryAtMs: number;
}

/** The write-back state and cache use of one mounted disk. */
export interface DiskStatus {
  disk: string;
  mountpoint: string;
  pid: number;
  /** Backend operations recorded in the journal and not done yet. */
  pending: {
    operations: number;
    /** Of those, file uploads, and the bytes they will send. */
    uploads: number;
    bytes: number;
  };
  /** Paths being uploaded (or otherwise sent to the backend) right now. */
  inFlight: string[];
  /** Paths whose upload a drop folder holds back until its checks pass (absent from mounts of older versions). */
  held?: string[];
  /** The disk's watched folders: hook jobs by state, running, failing (absent when it has none). */
  watches?: WatchStatus[];
  failing: FailingOperation[];
  /** Since the mount started: operations done, failed attempts (retries), uploads and bytes sent. */
  totals: { done: number; retries: number; uploads: number; uploadedBytes: number };
  cache: {
    /** Bytes the block cache and working files take, the configured limit, and the dirty (not uploaded) share. */
    bytes: number;
    maxBytes: number;
    dirtyBytes: number;
  };
  /** Content not uploaded because the disk already held it (server-side copies, skipped re-uploads). */
  dedup: { files: number; bytesSaved: number; uploadMsSaved: number };
}

/** The daemon side of the control socket: what a mount answers. */
export interface DiskControl {
  status(): DiskStatus;
  /** Lists `path` (a directory or file, '' for the root; everything below a directory) from the backend again, now. */
  refresh(path: string): Promise<void>;
  /** Sends everything pending to the backend now; resolves when the backend has it all. */
  sync(): Promise<void>;
}
