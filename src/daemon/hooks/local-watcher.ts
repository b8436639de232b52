import { lstat } from 'node:fs/promises';
import { isAbsolute, relative, resolve, sep } from 'node:path';
import { watch, type FSWatcher } from 'chokidar';
import { FsError, fromSystemError } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import type { DropFileVersion } from './types.js';

/** Options of a LocalWatcher. */
export interface LocalWatcherOptions {
  /** Absolute path of the watched folder. */
  root: string;
  /** A file is complete once its size and mtime have not changed for this long (config `stable_ms`). */
  stableMs: number;
  /** Folders not to watch, relative to `root` (or absolute inside it): derived outputs such as thumbnails' `to`. */
  ignore?: readonly string[];
  /** Called once per complete version of each file (path relative to root, '/'-separated). */
  onFile: (version: DropFileVersion) => void | Promise<void>;
  /** Watcher errors (a folder that cannot be read...); logged when absent. */
  onError?: (err: FsError) => void;
  logger?: Pick<Logger, 'warn' | 'error'>;
  /** How often a file being written is re-examined, ms. Default stableMs/4, between 50 and 500. */
  pollMs?: number;
}

/** A file seen changing, not yet reported. */
interface Pending {
  size: number;
  mtimeMs: number;
  /** Since when (ms) size and mtime are what they are. */
  since: number;
  timer: NodeJS.Timeout | undefined;
}

/**
 * Watches a local folder recursively (chokidar 5, inotify) and reports each
 * complete version of each regular file through `onFile`: once its size and
 * mtime have stayed the same for `stableMs`. Dotfiles and dot-folders (also
 * the hidden temporary files storaged writes) and the `ignore` folders are
 * never reported; symlinks are not followed. On start every file already
 * there is reported (one whose mtime is older than stableMs at once); a file
 * written again later is a new version and is reported again; the same
 * version is never reported twice while the watcher runs.
 *
 * Stability is our own stat polling, not chokidar's awaitWriteFinish: that
 * one compares sizes only (a rewrite of the same length would pass as
 * unchanged) and restarts its wait for files already complete at start,
 * where an mtime older than stableMs already proves the file idle.
 */
export class LocalWatcher {
  private watcher: FSWatcher | undefined;
  private readonly root: string;
  private readonly ignored: readonly string[];
  private readonly pending = new Map<string, Pending>();
  /** Version key ('size:mtime') last reported per path. */
  private readonly reported = new Map<string, string>();
  private readonly pollMs: number;
  private closed = false;

  constructor(private readonly options: LocalWatcherOptions) {
    if (!isAbsolute(options.root)) throw new FsError('EINVAL', `local watch root '${options.root}' must be an absolute path`, { path: options.root, op: 'config' });
    if (!(options.stableMs >= 0)) throw new FsError('EINVAL', `local watch stable_ms must be >= 0, got ${options.stableMs}`, { op: 'config' });
    this.root = resolve(options.root);
    this.ignored = (options.ignore ?? []).map((folder) => relative(this.root, resolve(this.root, folder))).filter((rel) => rel !== '' && !rel.startsWith('..'));
    this.pollMs = options.pollMs ?? Math.min(500, Math.max(50, Math.floor(options.stableMs / 4)));
  }

  /** Starts watching; resolves once chokidar has walked the folder (files found are then being checked for stability). */
  async start(): Promise<void> {
    if (this.watcher !== undefined) return;
    const watcher = watch(this.root, {
      persistent: true,
      ignoreInitial: false,
      followSymlinks: false,
      ignored: (path: string) => this.isIgnored(path),
    });
    this.watcher = watcher;
    watcher.on('add', (path: string) => this.observe(path));
    watcher.on('change', (path: string) => this.observe(path));
    watcher.on('unlink', (path: string) => this.forget(this.relativeOf(path)));
    watcher.on('error', (err: unknown) => this.reportError(fromSystemError(err, { path: this.root, op: 'watch' })));
    await new Promise<void>((ready) => watcher.once('ready', () => ready()));
  }

  /** Stops watching and every pending stability check. No onFile call happens after it resolves. */
  async close(): Promise<void> {
    this.closed = true;
    for (const entry of this.pending.values()) clearTimeout(entry.timer);
    this.pending.clear();
    await this.watcher?.close();
    this.watcher = undefined;
  }

  private isIgnored(path: string): boolean {
    const rel = relative(this.root, path);
    if (rel === '' || rel.startsWith('..')) return false;
    const parts = rel.split(sep);
    if (parts.some((part) => part.startsWith('.'))) return true;
    return this.ignored.some((folder) => rel === folder || rel.startsWith(folder + sep));
  }

  private relativeOf(path: string): string {
    return relative(this.root, path).split(sep).join('/');
  }

  /** A file was added or changed: examine it now unless a check is already scheduled. */
  private observe(path: string): void {
    const rel = this.relativeOf(path);
    if (this.closed || this.pending.has(rel)) return;
    this.pending.set(rel, { size: -1, mtimeMs: -1, since: 0, timer: undefined });
    void this.check(rel);
  }

  private forget(rel: string): void {
    clearTimeout(this.pending.get(rel)?.timer);
    this.pending.delete(rel);
    this.reported.delete(rel);
  }

  /** Stats the file; reports it once stable, else looks again in pollMs. */
  private async check(rel: string): Promise<void> {
    const entry = this.pending.get(rel);
    if (entry === undefined || this.closed) return;
    entry.timer = undefined;
    let info;
    try {
      info = await lstat(resolve(this.root, rel));
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      if (code !== 'ENOENT' && code !== 'ENOTDIR') this.reportError(fromSystemError(err, { path: rel, op: 'watch' }));
      this.pending.delete(rel);
      return;
    }
    if (this.pending.get(rel) !== entry || this.closed) return;
    if (!info.isFile()) {
      this.pending.delete(rel);
      return;
    }
    const now = Date.now();
    if (info.size !== entry.size || info.mtimeMs !== entry.mtimeMs) {
      const first = entry.size === -1;
      // First sight of a file whose mtime is old: it has been idle since then.
      entry.since = first ? Math.min(now, info.mtimeMs) : now;
      entry.size = info.size;
      entry.mtimeMs = info.mtimeMs;
    }
    const key = `${info.size}:${info.mtimeMs}`;
    if (this.reported.get(rel) === key) {
      this.pending.delete(rel);
      return;
    }
    const idleFor = now - entry.since;
    if (idleFor < this.options.stableMs) {
      entry.timer = setTimeout(() => void this.check(rel), Math.max(this.pollMs, 0));
      return;
    }
    this.pending.delete(rel);
    this.reported.set(rel, key);
    try {
      await this.options.onFile({ path: rel, size: info.size, mtimeMs: info.mtimeMs });
    } catch (err) {
      // Not taken: forget that it was reported and offer it again after stableMs.
      this.reportError(fromSystemError(err, { path: rel, op: 'watch' }));
      if (this.reported.get(rel) === key) this.reported.delete(rel);
      if (!this.closed && !this.pending.has(rel)) {
        this.pending.set(rel, { size: info.size, mtimeMs: info.mtimeMs, since: Date.now(), timer: undefined });
        const retry = this.pending.get(rel)!;
        retry.timer = setTimeout(() => void this.check(rel), Math.max(this.pollMs, this.options.stableMs));
      }
    }
  }

  private reportError(err: FsError): void {
    if (this.options.onError) this.options.onError(err);
    else this.options.logger?.warn({ err, root: this.root }, 'drop folder watcher error');
  }
}
