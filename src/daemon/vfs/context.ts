import type { Logger } from '../../core/logger.js';
import { FsError } from '../../core/errors.js';
import type { StorageDriver } from '../../drivers/types.js';
import type { ContentManager } from '../content/types.js';
import type { MetadataIndex, NodeRow } from '../meta/types.js';
import type { Journal } from '../writeback/types.js';
import { HandleTable } from './handles.js';
import { KeyedQueue } from './queues.js';
import { BackendSync, type SyncSettings } from './sync.js';
import { MutationTracker } from './tracker.js';
import type { Ino, UploadObserver } from './types.js';

/** Tunables of one VFS. */
export interface VfsSettings {
  /** How long a directory listing stays fresh, in milliseconds (0: every readdir refreshes in the background). */
  refreshTtlMs: number;
  /** Owner of objects without POSIX metadata, and the mounting process's ids. */
  uid: number;
  gid: number;
  /** Parallel stat/read requests while converting a listing (objects whose listing lacks metadata). */
  listConcurrency: number;
  /** Identifies this cache's uploads (object metadata `storaged-origin: <id>:<ino>`), so a conflict check knows its own objects. */
  originId: string;
  /** Write-back: upload delay, concurrency and retry delays (ms); fsync on close. */
  writeBack: SyncSettings & { fsyncOnClose: boolean };
}

/** What a VFS is built from. The VFS owns index and content (closes them); not the driver. */
export interface VfsDeps {
  driver: StorageDriver;
  index: MetadataIndex;
  content: ContentManager;
  logger: Logger;
  settings: VfsSettings;
  /** The journal of pending backend operations (in the index's database). */
  journal: Journal;
  /** Makes committed index/journal transactions and new working files durable (fsync of the WAL and the work folder). */
  durability: { barrier(): Promise<void> };
  /** Called by close() after the content manager closed and before the index (and its database) closes. */
  onClose?: () => void | Promise<void>;
  /** Drop folders watching closes and holding uploads (types.ts UploadObserver). */
  uploads?: UploadObserver;
}

/** State shared by the VFS modules. */
export interface VfsContext extends VfsDeps {
  readonly handles: HandleTable;
  /** Backend operations per inode, in the order the index changed. */
  readonly remote: KeyedQueue<Ino>;
  readonly tracker: MutationTracker;
  /** Counts attribute changes per inode that must reach the backend (a commit started before one does not clear it). */
  readonly metaChanges: Map<Ino, number>;
  /** The write-back queue (set right after the context is created). */
  sync: BackendSync;
  closed: boolean;
}

/** Builds the shared state. */
export function createContext(deps: VfsDeps, onSwept: (keys: string[]) => Promise<void>): VfsContext {
  const ctx = {
    ...deps,
    handles: new HandleTable(),
    remote: new KeyedQueue<Ino>(),
    tracker: new MutationTracker(),
    metaChanges: new Map(),
    closed: false,
  } as Omit<VfsContext, 'sync'> as VfsContext;
  ctx.sync = new BackendSync(ctx, deps.journal, deps.settings.writeBack, onSwept);
  return ctx;
}

/** The node `ino`; ENOENT when the index has none. */
export function requireNode(ctx: VfsContext, ino: Ino, op: string): NodeRow {
  const node = ctx.index.get(ino);
  if (!node) throw new FsError('ENOENT', `${op}: no inode ${ino}`, { op });
  return node;
}

/** The directory `ino`; ENOENT when missing, ENOTDIR when it is not a directory. */
export function requireDirectory(ctx: VfsContext, ino: Ino, op: string): NodeRow {
  const node = requireNode(ctx, ino, op);
  if (node.type !== 'directory') throw new FsError('ENOTDIR', `${op}: inode ${ino} ('${ctx.index.pathOf(ino)}') is not a directory`, { op });
  return node;
}

/** Records an attribute change of `ino` that the backend must learn of. */
export function noteMetaChange(ctx: VfsContext, ino: Ino): void {
  ctx.metaChanges.set(ino, (ctx.metaChanges.get(ino) ?? 0) + 1);
}
