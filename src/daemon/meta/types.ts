import type { Ino, NodeType } from '../vfs/types.js';

/**
 * Rows of the SQLite metadata index of one mounted disk. The index is the
 * mount's truth for names and attributes; the backend holds the bytes.
 */

/** Where a node's content stands relative to the backend. */
export type SyncState =
  /** Backend and index agree; content may be fetched by range. */
  | 'clean'
  /** Local changes (content or attributes) not yet on the backend. */
  | 'dirty'
  /** Created locally, never uploaded. */
  | 'new';

/** What the index last saw of a node's backend object. */
export interface RemoteVersion {
  /** ETag / generation / size+mtime token from the driver's FileStat. */
  etag?: string;
  size: number;
  /** Backend lastModified, ms since epoch. */
  mtimeMs: number;
}

/** One inode. */
export interface NodeRow {
  ino: Ino;
  type: NodeType;
  /** Full st_mode (type bits | permission bits). */
  mode: number;
  uid: number;
  gid: number;
  size: number;
  atimeNs: bigint;
  mtimeNs: bigint;
  ctimeNs: bigint;
  nlink: number;
  /** Symlink target (symlinks only). */
  target?: string;
  state: SyncState;
  /** The backend object this node was last synced with; absent for 'new'. */
  remote?: RemoteVersion;
  /** sha256 hex of the whole content when known (after an upload or a full read). */
  contentHash?: string;
}

/** Fields a caller may set on a node (ino and type never change). */
export type NodeUpdate = Partial<Omit<NodeRow, 'ino' | 'type'>>;

/** Fields needed to create a node. */
export type NewNode = Omit<NodeRow, 'ino' | 'nlink'> & { nlink?: number };

/** A directory entry as stored. */
export interface EntryRow {
  parent: Ino;
  name: string;
  ino: Ino;
}

/** The result of removing a name. */
export interface Unlinked {
  node: NodeRow;
  /** True when that was the last name: the node is gone from the tree (its row stays while handles are open). */
  lastLink: boolean;
}

/** A block of a file's content: bytes [index * blockSize, ...) hash to `hash`. */
export interface BlockRef {
  index: number;
  hash: string;
  size: number;
}

/** One child as the backend lists it, for reconcileDirectory. */
export interface RemoteChild {
  name: string;
  type: 'file' | 'directory';
  size: number;
  mtimeMs: number;
  etag?: string;
  /** POSIX attributes carried as object metadata (see src/daemon/meta/posix-metadata.ts), when present. */
  mode?: number;
  uid?: number;
  gid?: number;
  mtimeNs?: bigint;
  /** Symlink target when the object is a symlink storaged wrote. */
  symlinkTarget?: string;
}

/** What reconcileDirectory changed, for logs and tests. */
export interface ReconcileResult {
  added: number;
  updated: number;
  removed: number;
  /** Nodes refreshed in place because their remote version changed: content cached for them is outdated. */
  changed: Ino[];
  /** Nodes whose remote changed while they had local changes (kept local; issue 4 resolves). */
  conflicts: Ino[];
}

/** Options of reconcileDirectory. */
export interface ReconcileOptions {
  /**
   * True for a node still in use (an open file): when the backend no longer
   * has it, it loses its name but keeps its row (nlink 0), as unlink of a
   * last name does, until forget().
   */
  keep?: (ino: Ino) => boolean;
}

/**
 * The metadata index of one disk (better-sqlite3, WAL). Every method is a
 * short synchronous transaction; none does I/O beyond SQLite. Errors are
 * FsErrors (ENOENT, EEXIST, ENOTDIR, ENOTEMPTY, EISDIR, EINVAL).
 */
export interface MetadataIndex {
  /** The root directory node (ino ROOT_INO), created on first open. */
  root(): NodeRow;
  get(ino: Ino): NodeRow | undefined;
  /** The child `name` of `parent`, or undefined. */
  lookup(parent: Ino, name: string): NodeRow | undefined;
  /** Children of a directory, sorted by name (byte order). */
  children(parent: Ino): Array<{ name: string; node: NodeRow }>;
  /** Number of children (for ENOTEMPTY checks and nlink of directories). */
  childCount(parent: Ino): number;
  /** Creates a node under parent/name. EEXIST when the name is taken, ENOTDIR when parent is not a directory. */
  create(parent: Ino, name: string, node: NewNode): NodeRow;
  /** Adds a name for an existing file (hard link); nlink + 1. */
  link(ino: Ino, parent: Ino, name: string): NodeRow;
  /** Removes a name. ENOENT if missing. For directories use rmdir semantics (ENOTEMPTY). */
  unlink(parent: Ino, name: string): Unlinked;
  /**
   * Moves parent/name to newParent/newName in one transaction, replacing an
   * existing target as rename(2) does: file over file, empty directory over
   * directory; EISDIR/ENOTDIR/ENOTEMPTY otherwise; EINVAL for moving a
   * directory into itself. Returns the replaced node, if any.
   */
  rename(parent: Ino, name: string, newParent: Ino, newName: string): { replaced?: Unlinked };
  update(ino: Ino, fields: NodeUpdate): NodeRow;
  /** Deletes a node row that has no names left (after its last handle closed). */
  forget(ino: Ino): void;
  /** The backend key of a node: its path from the root ('' for the root); for hard links, the first name. */
  pathOf(ino: Ino): string;
  /** Every path of a node (one per hard link). */
  pathsOf(ino: Ino): string[];
  /** Resolves a '/'-separated path from the root, or undefined. */
  resolve(path: string): NodeRow | undefined;

  /** Makes a directory's listing stale: the next look at it lists it again (in the background). */
  expireListing(dir: Ino): void;
  /** When a directory was last listed from the backend (ms), or undefined if never. */
  listedAt(dir: Ino): number | undefined;
  /**
   * Merges a complete backend listing of a directory: adds new children,
   * updates clean ones whose remote version changed (dropping their cached
   * block map), removes clean children the backend no longer has, keeps
   * local ('new'/'dirty') nodes, and records the listing time. Directories
   * have no version: only their existence and type count, their stored
   * times stay. Removed nodes that `options.keep` names keep their row.
   */
  reconcileDirectory(dir: Ino, children: RemoteChild[], now: number, options?: ReconcileOptions): ReconcileResult;

  /** Files with a name and local changes the backend lacks (state 'new' or 'dirty'): for recovery. */
  unsyncedFiles(): Ino[];
  /**
   * A clean, named file (not `except`) whose uploaded content has sha256
   * `hash` and `size` bytes (as recorded by its last upload), or undefined:
   * the dedup lookup.
   */
  findByContent(hash: string, size: number, except: Ino): NodeRow | undefined;

  /** The block map of a file's clean content (what the block cache may hold). */
  blocks(ino: Ino): BlockRef[];
  block(ino: Ino, index: number): BlockRef | undefined;
  setBlock(ino: Ino, ref: BlockRef): void;
  /** Forgets a file's block map (content changed). */
  clearBlocks(ino: Ino): void;

  setXattr(ino: Ino, name: string, value: Buffer): void;
  getXattr(ino: Ino, name: string): Buffer | undefined;
  listXattrs(ino: Ino): string[];
  /** The inodes of `parent`'s entries that have at least one extended attribute (one query for a listing). */
  childrenWithXattrs(parent: Ino): Set<Ino>;
  /** False when the attribute did not exist. */
  removeXattr(ino: Ino, name: string): boolean;

  /** Node and entry counts (statfs files). */
  counts(): { nodes: number };
  /** Runs fn in one SQLite transaction. */
  transaction<T>(fn: () => T): T;
  close(): void;
}
