import type { Readable } from 'node:stream';
import type { Logger } from '../../core/logger.js';

/**
 * The types of drop folders and their durable hook jobs (see
 * dispatcher.ts for how jobs run, pipeline.ts for the steps of a folder).
 * Paths of files are relative to the watched folder's root: '/'-separated,
 * no leading slash ('2026/scan-01.pdf').
 */

/** One version of a file in a watched folder. */
export interface DropFileVersion {
  path: string;
  size: number;
  /** Modification time, ms since the epoch. */
  mtimeMs: number;
}

/**
 * A watched folder as the engine touches it: a folder inside a mounted
 * disk (through the VFS, never through the mount point) or a plain local
 * folder. Every method is idempotent where its doc says so, because a job
 * resumed after a crash repeats the step that was in flight. Failures
 * reject with FsError (errno-style codes).
 */
export interface DropFolder {
  /** The watch's name (config `watch.<name>`). */
  readonly name: string;
  /** The file's current version; undefined when it is gone. */
  stat(path: string): Promise<DropFileVersion | undefined>;
  /** The file's content as a stream; FsError ENOENT when it is gone. */
  read(path: string): Promise<Readable>;
  /**
   * The file's absolute path on this machine, for folders whose files are
   * local (the engine then copies it with the kernel instead of streaming it
   * through JavaScript); absent where files are not local.
   */
  localPath?(path: string): string;
  /** Replaces the file's content with the bytes of the local file `from` (idempotent: same bytes again). */
  replace(path: string, from: string): Promise<void>;
  /**
   * Writes the bytes of the local file `from` at `target`, replacing what is
   * there (idempotent). `target` is relative to the disk's root for a folder
   * inside a disk, to the folder's root for a local folder.
   */
  writeDerived(target: string, from: string): Promise<void>;
  /** writeDerived of bytes in memory (small derived files such as thumbnails), where the folder can write them directly. */
  writeDerivedBytes?(target: string, bytes: Uint8Array): Promise<void>;
  /**
   * Moves the file out of the watched folder into the local folder `into`,
   * under its relative path (a free name is chosen if taken), and resolves to
   * the local path it now has. Never deletes content. Idempotent: when the
   * file is already gone and a previous move left it in `into`, resolves to that.
   */
  setAside(path: string, into: string): Promise<string>;
  /** Removes the file (a conversion that keeps no original). Already gone is fine. */
  remove(path: string): Promise<void>;
  /**
   * The file may go to the backend now (its scan passed, or it was set
   * aside or removed). Folders inside a mounted disk hold the upload of a
   * scanned folder's files until this is called; a no-op elsewhere.
   */
  release(path: string): Promise<void>;
}

/** Where a job is. The last five are final. */
export type JobState = 'queued' | 'running' | 'done' | 'rejected' | 'quarantined' | 'failed' | 'superseded';

/** What one finished step of a job recorded. */
export interface StepResult {
  /** The step's name ('stage', 'rules', 'scan', 'thumbnails', ...). */
  step: string;
  /** Milliseconds the step took (the run that finished it). */
  ms: number;
  /** What it found or made (thumbnail paths, the scan verdict, EXIF summary...), JSON-safe. */
  detail?: Record<string, unknown>;
}

/** A durable hook job: one version of one file of one watched folder, and how far it got. */
export interface HookJob {
  id: number;
  watch: string;
  path: string;
  size: number;
  mtimeMs: number;
  state: JobState;
  /** Index of the next step to run (steps before it finished and are in `results`). */
  step: number;
  /** Failed attempts of the current step. */
  attempts: number;
  /** When the job may run next, ms since the epoch (retry backoff). */
  nextAtMs: number;
  /** The local file the next step reads (the staged copy, or an in-place step's output); undefined before staging. */
  input?: string;
  results: StepResult[];
  /** The last failure, kept after a retry succeeds until the job ends. */
  lastError?: { code: string; message: string; atMs: number };
  /** Why the job ended rejected, quarantined or failed (rule and reason, signature, error). */
  outcome?: Record<string, unknown>;
  createdMs: number;
  updatedMs: number;
}

/** What a step hands back; failures are thrown as FsError (transient codes are retried, see dispatcher.ts). */
export type StepOutcome =
  /** Go on; `output` replaces the input of later steps (an in-place transform's result, a local file). */
  | { kind: 'next'; detail?: Record<string, unknown>; output?: string }
  /** A rule or an image check refused the file: it goes to the rejected folder with this reason. */
  | { kind: 'reject'; rule: string; reason: string; detail?: Record<string, unknown> }
  /** The scanner found `signature`: the file goes to quarantine and is never uploaded. */
  | { kind: 'quarantine'; signature: string }
  /** The file vanished or changed: a newer job (or none) takes over. */
  | { kind: 'superseded'; reason: string };

/** What a step gets to work with. */
export interface StepContext {
  readonly job: Readonly<HookJob>;
  readonly folder: DropFolder;
  /** The local file this step reads: the staged copy or the previous in-place step's output. */
  readonly input: string;
  /** The job's own staging folder (exists; the step may create files in it). */
  readonly workDir: string;
  /** Aborted when the job is superseded or the engine stops. */
  readonly signal: AbortSignal;
  readonly logger: Logger;
}

/** One step of a watched folder's pipeline. `run` is idempotent for the same input (a resumed job repeats it). */
export interface Step {
  readonly name: string;
  run(ctx: StepContext): Promise<StepOutcome>;
}

/** A row of the metadata index (what `storaged search` finds), one per file of a watched folder. */
export interface FileMetadataRecord {
  watch: string;
  /** The disk of a folder inside a mounted disk; undefined for a local folder. */
  disk?: string;
  /** The file's path relative to the disk's root (or the local folder's root). */
  path: string;
  size: number;
  /** Sniffed content type ('image/jpeg'), or undefined when unknown. */
  mime?: string;
  sha256: string;
  width?: number;
  height?: number;
  /** Camera make and model as EXIF says ('Canon EOS R5'). */
  camera?: string;
  /** EXIF capture time, ms since the epoch. */
  takenAtMs?: number;
  gpsLatitude?: number;
  gpsLongitude?: number;
  /** Everything else the metadata step found (full EXIF summary...), JSON-safe. */
  extra?: Record<string, unknown>;
  indexedAtMs: number;
}

/** Where the metadata step records what it found. */
export interface MetadataSink {
  /** Inserts or replaces the record of (watch, path). */
  upsert(record: FileMetadataRecord): void;
  /** Forgets (watch, path) (the file was removed or set aside). */
  remove(watch: string, path: string): void;
}
