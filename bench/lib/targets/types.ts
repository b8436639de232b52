import type { ToolName } from '../args.js';
import type { Mounted } from '../mounts.js';

/** How a tool under test makes a volume (a bucket, or a folder for `local`) into a directory. */
export interface Target {
  readonly name: ToolName;
  /** True when volumes are buckets on the shared s3rver (false: local folders). */
  readonly usesBucket: boolean;
  /** Version line for the results. */
  version(): Promise<string>;
  /**
   * Mounts `volume` at a new mount point in its own process. freshCache:
   * start from an empty cache folder (a cold mount); otherwise reuse the
   * one the previous mount of this volume left (a remount). endpoint: talk
   * to this S3 endpoint instead of the shared s3rver's (a proxy in front of
   * it); ignored by the local baseline.
   */
  mount(volume: string, options: MountOptions): Promise<Mounted>;
}

/** How one mount is made (see Target.mount). */
export interface MountOptions {
  freshCache: boolean;
  endpoint?: string;
}

/** What every target needs to know about the run. */
export interface TargetEnvironment {
  /** http://127.0.0.1:PORT of the shared s3rver. */
  endpoint: string;
  /** Scratch folder of this run: mount points, caches, configs. */
  workDir: string;
}
