import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Cache folders of one tool: one per volume, replaced by a new empty one
 * when a cold mount asks for it, reused by a remount.
 */
export class CacheDirs {
  private readonly current = new Map<string, string>();
  private generation = 0;

  constructor(
    private readonly workDir: string,
    private readonly tool: string,
  ) {}

  /** The cache folder for `volume`: a new empty one when fresh (or when none exists yet). */
  async get(volume: string, fresh: boolean): Promise<string> {
    const existing = this.current.get(volume);
    if (existing && !fresh) return existing;
    const dir = join(this.workDir, `cache-${this.tool}-${volume}-${++this.generation}`);
    await mkdir(dir, { recursive: true });
    this.current.set(volume, dir);
    return dir;
  }
}

/** A new, empty mount point folder. */
export async function newMountPoint(workDir: string, tool: string): Promise<string> {
  const dir = join(workDir, `mnt-${tool}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`);
  await mkdir(dir, { recursive: true });
  return dir;
}
