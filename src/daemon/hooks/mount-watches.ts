import type { Logger } from '../../core/logger.js';
import type { ObservedFile, UploadObserver } from '../vfs/types.js';
import type { DropFileVersion, HookJob } from './types.js';
import { wroteVersion } from './written.js';

/** A watched folder inside one mounted disk. */
export interface DiskWatch {
  /** The watch's name. */
  name: string;
  /** Its folder as a key from the disk root, without slashes at the ends ('' for the whole disk). */
  path: string;
  /** True when its files wait for a clean scan before they may be uploaded. */
  scan: boolean;
}

/** What the bridge needs of the job engine. */
export interface WatchJobs {
  /** Records a job for a version (idempotent) and wakes the engine. */
  submit(watch: string, version: DropFileVersion): void;
  /** Every job of (watch, path), oldest first. */
  jobsOf(watch: string, path: string): HookJob[];
}

/** The name of the scan step in a job's results. */
const SCAN_STEP = 'scan';

/**
 * The UploadObserver of one mounted disk's watched folders: a close of a
 * changed file inside one submits a job for that version (the engine finds
 * it at once, no polling); the upload of a file in a folder that scans is
 * held until a job of that very version has passed its scan step — after a
 * restart too, since the answer comes from the job table. Writes the engine
 * makes (hooks run after the scan, so they derive from scanned content) go
 * through ownWrite(): their closes start no job and the version they leave
 * is not held (remembered in memory; after a restart, found in the job's
 * step result `written: { size, mtimeMs }`, or else scanned again).
 */
export class MountWatchBridge implements UploadObserver {
  private readonly ownWrites = new Map<string, number>();
  /** The version each key had after the engine's last write of it. */
  private readonly engineWritten = new Map<string, { size: number; mtimeMs: number }>();
  /** Lets a held upload of a key go (set by attach(), once the disk's VFS exists). */
  private releaseKey: ((key: string) => Promise<void>) | undefined;

  constructor(
    private readonly watches: readonly DiskWatch[],
    private readonly jobs: WatchJobs,
    private readonly logger: Logger,
  ) {}

  /** Connects the bridge to the disk's VFS: `release` lets the held upload of a key go (Vfs.releaseUpload). */
  attach(release: (key: string) => Promise<void>): void {
    this.releaseKey = release;
  }

  /** The watch `key` (a key from the disk root) is inside, and its path relative to that watch; undefined when none. */
  match(key: string): { watch: DiskWatch; path: string } | undefined {
    let best: DiskWatch | undefined;
    for (const watch of this.watches) {
      const inside = watch.path === '' || key.startsWith(`${watch.path}/`);
      if (inside && (best === undefined || watch.path.length > best.path.length)) best = watch;
    }
    if (best === undefined) return undefined;
    return { watch: best, path: best.path === '' ? key : key.slice(best.path.length + 1) };
  }

  /**
   * Runs `write` (the engine writing `key`, resolving to the version it
   * left) without the closes it causes starting jobs or holding its upload.
   */
  async ownWrite(key: string, write: () => Promise<{ size: number; mtimeMs: number }>): Promise<{ size: number; mtimeMs: number }> {
    this.ownWrites.set(key, (this.ownWrites.get(key) ?? 0) + 1);
    try {
      const version = await write();
      this.engineWritten.set(key, { size: version.size, mtimeMs: version.mtimeMs });
      return version;
    } finally {
      const left = (this.ownWrites.get(key) ?? 1) - 1;
      if (left === 0) this.ownWrites.delete(key);
      else this.ownWrites.set(key, left);
      // An upload that started while the write was in progress was held: it may go now.
      if (left === 0) await this.releaseKey?.(key).catch((err: unknown) => this.logger.warn({ err, key }, 'could not release an upload'));
    }
  }

  closed(file: ObservedFile): void {
    if (this.ownWrites.has(file.path) || this.writtenByEngine(file)) return;
    const found = this.match(file.path);
    if (found === undefined) return;
    this.jobs.submit(found.watch.name, { path: found.path, size: file.size, mtimeMs: file.mtimeMs });
  }

  holds(file: ObservedFile): boolean {
    const found = this.match(file.path);
    if (found === undefined || !found.watch.scan) return false;
    if (this.ownWrites.has(file.path)) return true; // asked again once the write is done
    if (this.writtenByEngine(file)) return false;
    const version = { path: found.path, size: file.size, mtimeMs: file.mtimeMs };
    const jobs = this.jobs.jobsOf(found.watch.name, found.path);
    if (jobs.some((job) => passedScan(job) && (sameVersion(job, version) || wroteVersion(job, version)))) return false;
    // Not scanned yet (a resumed upload after a crash finds its job here, or gets one now).
    if (!jobs.some((job) => sameVersion(job, version))) {
      this.logger.info({ watch: found.watch.name, path: found.path }, 'upload held until the file is scanned');
      this.jobs.submit(found.watch.name, version);
    }
    return true;
  }

  private writtenByEngine(file: ObservedFile): boolean {
    const written = this.engineWritten.get(file.path);
    return written !== undefined && written.size === file.size && written.mtimeMs === file.mtimeMs;
  }
}

function sameVersion(job: HookJob, version: DropFileVersion): boolean {
  return job.size === version.size && job.mtimeMs === version.mtimeMs;
}

function passedScan(job: HookJob): boolean {
  return job.results.some((result) => result.step === SCAN_STEP);
}

