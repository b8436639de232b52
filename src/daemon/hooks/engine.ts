import { join } from 'node:path';
import type { StoragedConfig } from '../../core/config/loader.js';
import type { HookConfig, WatchConfig } from '../../core/config/watch-schema.js';
import { FsError } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import { createClamdScanner, type ClamdScanner } from '../../processing/scan/index.js';
import { lockCacheDir } from '../cache-lock.js';
import type { Database } from '../db.js';
import type { Vfs } from '../vfs/types.js';
import { createDispatcher, type Dispatcher, type WatchStatus } from './dispatcher.js';
import { hooksDirectory, openHooksDatabase } from './hooks-db.js';
import { openJobStore } from './job-store.js';
import { LocalDropFolder } from './local-folder.js';
import { LocalWatcher } from './local-watcher.js';
import { MetadataStore } from './metadata-store.js';
import { MountWatchBridge } from './mount-watches.js';
import { MountedDropFolder } from './mounted-folder.js';
import { buildPipeline, type BuiltinHookSpec, type PipelineSpec } from './pipeline.js';
import { commandStep } from './steps/command.js';
import { moduleStep } from './steps/module.js';
import type { DropFolder, Step } from './types.js';
import { removeTemporaryLeftovers } from './leftovers.js';
import { inFolder } from './steps/job-paths.js';
import { lookupPath } from './vfs-files.js';

/** Which watched folders an engine runs: those of one mounted disk, or every local one. */
export type EngineScope = { disk: string } | { local: true };

/**
 * The drop-folder engine of one process: the watched folders of a mounted
 * disk (run by `storaged mount`) or the local ones (`storaged watch`), their
 * pipelines, the durable jobs in `<scope dir>/hooks.db` (hooksDirectory),
 * the dispatcher, and either the disk's UploadObserver (closes seen by the
 * VFS, uploads of scanning folders held) or the local folders' watchers.
 * Lifecycle: open() -> (disk) pass `uploads` to createDiskVfs, attach(vfs)
 * -> start() -> close().
 */
export class HooksEngine {
  private readonly folders = new Map<string, DropFolder>();
  private readonly pipelines = new Map<string, readonly Step[]>();
  private readonly watchers: LocalWatcher[] = [];
  private readonly dispatcher: Dispatcher;
  private readonly metadata: MetadataStore;
  /** The disk's observer (disk scope only). */
  readonly uploads: MountWatchBridge | undefined;

  private constructor(
    private readonly watches: readonly WatchConfig[],
    private readonly db: Database,
    private readonly unlock: () => void,
    private readonly logger: Logger,
    config: StoragedConfig,
    stagingDir: string,
  ) {
    this.metadata = new MetadataStore(db);
    const scanner = watches.some((watch) => watch.scan) ? clamdScanner(config) : undefined;
    for (const watch of watches) this.pipelines.set(watch.name, buildPipeline(pipelineSpec(watch), pipelineDeps(watch, this.metadata, scanner)));
    const store = openJobStore(db);
    this.dispatcher = createDispatcher({
      store,
      folders: (name) => {
        const folder = this.folders.get(name);
        if (folder === undefined) throw new FsError('ENOENT', `watched folder '${name}' is not configured (any more)`, { op: 'hook' });
        return folder;
      },
      steps: (name) => this.pipelines.get(name) ?? [],
      destinations: (name) => {
        const watch = this.watches.find((w) => w.name === name);
        if (watch === undefined) throw new FsError('ENOENT', `watched folder '${name}' is not configured (any more)`, { op: 'hook' });
        return { rejectedDir: watch.rejectedDir, quarantineDir: watch.quarantineDir };
      },
      // A refused file's metadata (a step before the refusal may have indexed it) goes with it.
      onSetAside: (job) => {
        const watch = this.watches.find((w) => w.name === job.watch);
        if (watch !== undefined) this.metadata.remove(job.watch, inFolder(watch.kind === 'disk' ? watch.path : undefined, job.path));
      },
      stagingDir,
      concurrency: config.hooks.concurrency,
      retryDelayMs: config.hooks.retryDelayMs,
      maxRetryDelayMs: config.hooks.maxRetryDelayMs,
      logger,
    });
    const diskWatches = watches.filter((watch) => watch.kind === 'disk');
    this.uploads =
      diskWatches.length > 0
        ? new MountWatchBridge(
            diskWatches.map((watch) => ({ name: watch.name, path: watch.path ?? '', scan: watch.scan })),
            { submit: (name, version) => void this.dispatcher.submit(name, version), jobsOf: (name, path) => this.dispatcher.jobsOf(name, path) },
            logger,
          )
        : undefined;
    for (const watch of watches) if (watch.kind === 'local') this.folders.set(watch.name, new LocalDropFolder(watch.name, watch.localPath!));
  }

  /**
   * The engine of `scope`, or undefined when the config watches no folder
   * there. Opens (creating) its hooks database and locks its folder for this
   * process (EBUSY while another live process runs it; a disk's folder is the
   * one its mount locks too, so the mount opens the engine after the VFS).
   */
  static open(config: StoragedConfig, scope: EngineScope, logger: Logger): HooksEngine | undefined {
    const watches = (config.watches ?? []).filter((watch) => ('disk' in scope ? watch.kind === 'disk' && watch.disk === scope.disk : watch.kind === 'local'));
    if (watches.length === 0) return undefined;
    const dir = hooksDirectory(config.cache.dir, 'disk' in scope ? { disk: scope.disk } : {});
    // A disk's folder is locked by its mount (this process); the local engine locks its own.
    const lock = 'disk' in scope ? undefined : lockCacheDir(dir);
    try {
      const db = openHooksDatabase(dir);
      return new HooksEngine(watches, db, () => lock?.release(), logger.child({ component: 'hooks' }), config, join(dir, 'staging'));
    } catch (err) {
      lock?.release();
      throw err;
    }
  }

  /** The names of the watched folders this engine runs. */
  get watchNames(): string[] {
    return this.watches.map((watch) => watch.name);
  }

  /** Connects the disk's watched folders to its VFS (before start). */
  attach(vfs: Vfs): void {
    for (const watch of this.watches) {
      if (watch.kind !== 'disk' || this.uploads === undefined) continue;
      this.folders.set(watch.name, new MountedDropFolder(watch.name, vfs, watch.path ?? '', this.uploads));
    }
    this.uploads?.attach(async (key) => {
      const attr = await lookupPath(vfs, key);
      if (attr !== undefined) vfs.releaseUpload(attr.ino);
    });
  }

  /** Resumes the jobs a previous run left, then runs new ones; local folders are watched (their files found at start are submitted). */
  async start(): Promise<void> {
    // This process holds the engine's lock: a hidden temporary file in a local folder is a write a crash cut short.
    for (const watch of this.watches) {
      if (watch.kind !== 'local') continue;
      const removed = await removeTemporaryLeftovers(watch.localPath!);
      if (removed.length > 0) this.logger.info({ watch: watch.name, removed }, 'removed temporary files a crash left');
    }
    await this.dispatcher.start();
    for (const watch of this.watches) {
      if (watch.kind !== 'local') continue;
      const folder = this.folders.get(watch.name) as LocalDropFolder;
      const watcher = new LocalWatcher({
        root: watch.localPath!,
        stableMs: watch.stableMs,
        ignore: derivedFolders(watch),
        onFile: (version) => {
          if (!folder.isOwnVersion(version)) this.dispatcher.submit(watch.name, version);
        },
        logger: this.logger,
      });
      this.watchers.push(watcher);
      await watcher.start();
    }
  }

  /** Per watched folder: jobs by state, running now, failing. */
  status(): WatchStatus[] {
    return this.dispatcher.status();
  }

  /** Resolves when no job is queued or running. */
  idle(): Promise<void> {
    return this.dispatcher.idle();
  }

  /** Stops watching and running (unfinished jobs stay recorded for the next start), closes the database. */
  async close(): Promise<void> {
    await Promise.all(this.watchers.map((watcher) => watcher.close()));
    await this.dispatcher.stop();
    this.db.close();
    this.unlock();
  }
}

/** Where a watch writes derived files inside itself (thumbnails' `to`), which its watcher must not report. */
function derivedFolders(watch: WatchConfig): string[] {
  return watch.hooks.flatMap((hook) => (hook.kind === 'thumbnails' ? [hook.to] : []));
}

function clamdScanner(config: StoragedConfig): ClamdScanner {
  if (config.clamd === undefined) throw new FsError('EINVAL', 'a watched folder scans but config.yaml has no clamd section', { op: 'config' });
  return createClamdScanner(config.clamd);
}

/** A watch's config in pipeline terms. */
function pipelineSpec(watch: WatchConfig): PipelineSpec<HookConfig & { kind: 'command' | 'module' }> {
  const rules = watch.rules;
  return {
    ...(watch.kind === 'disk' ? { folderPath: watch.path ?? '' } : {}),
    rules: {
      ...(rules.maxSize !== undefined ? { maxSize: rules.maxSize } : {}),
      ...(rules.allowedExtensions !== undefined ? { extensions: rules.allowedExtensions } : {}),
      sniff: rules.sniff,
    },
    scan: watch.scan,
    hooks: watch.hooks.map((hook) => (hook.kind === 'command' || hook.kind === 'module' ? hook : builtinSpec(hook))),
  };
}

function builtinSpec(hook: Exclude<HookConfig, { kind: 'command' | 'module' }>): BuiltinHookSpec {
  switch (hook.kind) {
    case 'metadata':
      return { kind: 'metadata' };
    case 'thumbnails': {
      const first = hook.sizes[0];
      return { kind: 'thumbnails', to: hook.to, sizes: hook.sizes, ...(first ? { format: first.format, quality: first.quality } : {}) };
    }
    case 'optimise':
      return { kind: 'optimise', maxWidth: hook.maxWidth, maxHeight: hook.maxHeight, quality: hook.quality };
    case 'convert':
      return { kind: 'convert', format: hook.format, keepOriginal: hook.keepOriginal, ...(hook.quality !== undefined ? { quality: hook.quality } : {}) };
    case 'watermark':
      return { kind: 'watermark', image: hook.image, position: hook.position, opacity: hook.opacity, margin: hook.margin };
  }
}

function pipelineDeps(watch: WatchConfig, metadata: MetadataStore, scanner: ClamdScanner | undefined) {
  return {
    metadata,
    ...(scanner !== undefined ? { scanner } : {}),
    ...(watch.disk !== undefined ? { disk: watch.disk } : {}),
    customSteps: (hook: HookConfig & { kind: 'command' | 'module' }, name: string): Step =>
      hook.kind === 'command' ? commandStep(hook, name) : moduleStep(hook, name),
  };
}
