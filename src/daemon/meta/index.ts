import { FsError } from '../../core/errors.js';
import { fromSqliteError, migrate, type Database } from '../db.js';
import { ROOT_INO, type Ino } from '../vfs/types.js';
import { IndexCore } from './core.js';
import { checkName, insertValues, toNodeParams, toNodeRow, wallClockNs } from './node-row.js';
import { pathOf, pathsOf, resolvePath } from './paths.js';
import { reconcileDirectory } from './reconcile.js';
import { renameEntry } from './rename.js';
import { META_SCHEMA_MODULE, META_SCHEMA_STEPS } from './schema.js';
import { prepareStatements } from './statements.js';
import type { BlockRef, MetadataIndex, NewNode, NodeRow, NodeUpdate, ReconcileOptions, ReconcileResult, RemoteChild, Unlinked } from './types.js';

export { decodePosixMetadata, encodePosixMetadata, isSymlinkStat, remoteChildFromStat } from './posix-metadata.js';

/** Options of openMetadataIndex. */
export interface MetadataIndexOptions {
  /** Owner of the root and of nodes the backend carries no owner for (the mounting process). */
  uid: number;
  gid: number;
  /** Current time in ns since the epoch (tests pass a fake clock). */
  now?: () => bigint;
}

/** Optional NodeRow fields that `update` clears when given as undefined. */
const CLEARABLE: ReadonlyArray<keyof NodeUpdate> = ['target', 'remote', 'contentHash'];

/**
 * The SQLite metadata index of one disk (see MetadataIndex). Beyond the
 * contract: create/link/unlink/rename set the changed directories' mtime and
 * ctime and the node's ctime to now(), and maintain link counts (a directory
 * has 2 + its subdirectories). Every method is one statement or one
 * transaction; SQLite failures reject as FsErrors (EIO, ENOSPC, EROFS, EBUSY).
 */
export class SqliteMetadataIndex implements MetadataIndex {
  private readonly core: IndexCore;

  /** Use openMetadataIndex. Migrates the tables, creates the root if missing and sweeps nameless nodes. */
  constructor(
    private readonly db: Database,
    options: MetadataIndexOptions,
  ) {
    try {
      migrate(db, META_SCHEMA_MODULE, META_SCHEMA_STEPS);
      this.core = new IndexCore(db, prepareStatements(db), options.now ?? wallClockNs, options.uid, options.gid);
      db.transaction(() => this.initialize()).immediate();
    } catch (err) {
      throw fromSqliteError(err, db.name, 'open');
    }
  }

  private get st() {
    return this.core.st;
  }

  root(): NodeRow {
    return this.guard(() => this.core.requireNode(ROOT_INO));
  }

  get(ino: Ino): NodeRow | undefined {
    return this.guard(() => this.core.node(ino));
  }

  lookup(parent: Ino, name: string): NodeRow | undefined {
    return this.guard(() => this.core.lookup(parent, name));
  }

  children(parent: Ino): Array<{ name: string; node: NodeRow }> {
    return this.guard(() => this.st.children.all(parent).map((values) => ({ name: values[0] as string, node: toNodeRow(values, 1) })));
  }

  childCount(parent: Ino): number {
    return this.guard(() => this.st.childCount.get(parent)!);
  }

  /** Also EINVAL for a name that cannot be an entry. nlink defaults to 2 for directories, 1 otherwise. */
  create(parent: Ino, name: string, node: NewNode): NodeRow {
    checkName(name);
    return this.transaction(() => {
      this.core.requireDirectory(parent);
      this.requireFree(parent, name);
      const nlink = node.nlink ?? (node.type === 'directory' ? 2 : 1);
      const ino = Number(this.st.insertNode.run(...insertValues(toNodeParams({ ...node, nlink }))).lastInsertRowid);
      this.st.insertEntry.run(parent, name, ino);
      if (node.type === 'directory') this.st.addNlink.run(1, parent);
      this.core.touchDirectory(parent);
      return this.core.requireNode(ino);
    });
  }

  /** ENOENT for a missing node, EPERM for a directory, EEXIST/ENOTDIR as create. Sets the node's ctime. */
  link(ino: Ino, parent: Ino, name: string): NodeRow {
    checkName(name);
    return this.transaction(() => {
      const node = this.core.requireNode(ino);
      if (node.type === 'directory') throw new FsError('EPERM', `cannot hard-link directory inode ${ino}`, { path: name, op: 'link' });
      this.core.requireDirectory(parent);
      this.requireFree(parent, name);
      this.st.insertEntry.run(parent, name, ino);
      this.st.setNlink.run(this.st.linkCount.get(ino)!, ino);
      this.st.touchCtime.run({ ino, now: this.core.now() });
      this.core.touchDirectory(parent);
      return this.core.requireNode(ino);
    });
  }

  unlink(parent: Ino, name: string): Unlinked {
    return this.transaction(() => {
      this.core.requireDirectory(parent);
      const node = this.core.lookup(parent, name);
      if (node === undefined) throw new FsError('ENOENT', `no entry '${name}' in directory ${parent}`, { path: name, op: 'unlink' });
      if (node.type === 'directory' && this.childCount(node.ino) > 0) {
        throw new FsError('ENOTEMPTY', `directory '${name}' is not empty`, { path: name, op: 'unlink' });
      }
      return this.core.removeEntry(parent, name, node);
    });
  }

  rename(parent: Ino, name: string, newParent: Ino, newName: string): { replaced?: Unlinked } {
    return this.transaction(() => renameEntry(this.core, parent, name, newParent, newName));
  }

  /**
   * Sets the given fields (no time is changed implicitly). `target`, `remote`
   * and `contentHash` given as undefined are cleared; other undefined fields
   * are ignored. Mode type bits always follow the node type. ENOENT if missing.
   */
  update(ino: Ino, fields: NodeUpdate): NodeRow {
    return this.transaction(() => {
      const node: NodeRow = { ...this.core.requireNode(ino) };
      const target = node as unknown as Record<string, unknown>;
      for (const [key, value] of Object.entries(fields)) {
        if (key === 'ino' || key === 'type') continue;
        if (value !== undefined) target[key] = value;
        else if (CLEARABLE.includes(key as keyof NodeUpdate)) delete target[key];
      }
      const params = toNodeParams(node);
      this.st.updateNode.run(params);
      // The stored row, rebuilt from what was written rather than read back.
      return toNodeRow([ino, ...insertValues(params)]);
    });
  }

  /** No-op for the root, an unknown ino, or a node that still has a name. */
  forget(ino: Ino): void {
    if (ino === ROOT_INO) return;
    this.transaction(() => {
      if (this.st.linkCount.get(ino)! > 0 || this.st.childCount.get(ino)! > 0) return;
      this.st.deleteNode.run(ino);
    });
  }

  pathOf(ino: Ino): string {
    return this.guard(() => pathOf(this.core, ino));
  }

  pathsOf(ino: Ino): string[] {
    return this.guard(() => pathsOf(this.core, ino));
  }

  resolve(path: string): NodeRow | undefined {
    return this.guard(() => resolvePath(this.core, path));
  }

  expireListing(dir: Ino): void {
    this.guard(() => this.st.setListedAt.run(dir, 0));
  }

  listedAt(dir: Ino): number | undefined {
    return this.guard(() => this.st.getListedAt.get(dir));
  }

  reconcileDirectory(dir: Ino, children: RemoteChild[], now: number, options: ReconcileOptions = {}): ReconcileResult {
    return this.transaction(() => reconcileDirectory(this.core, dir, children, now, options));
  }

  unsyncedFiles(): Ino[] {
    return this.guard(() => this.st.unsyncedFiles.all());
  }

  findByContent(hash: string, size: number, except: Ino): NodeRow | undefined {
    return this.guard(() => {
      const values = this.st.byContent.get(hash, size, except);
      return values === undefined ? undefined : toNodeRow(values);
    });
  }

  blocks(ino: Ino): BlockRef[] {
    return this.guard(() => this.st.blocks.all(ino).map(({ idx, hash, size }) => ({ index: idx, hash, size })));
  }

  block(ino: Ino, index: number): BlockRef | undefined {
    const record = this.guard(() => this.st.block.get(ino, index));
    return record === undefined ? undefined : { index: record.idx, hash: record.hash, size: record.size };
  }

  /** ENOENT when the node does not exist. */
  setBlock(ino: Ino, ref: BlockRef): void {
    this.withNode(ino, () => this.st.setBlock.run(ino, ref.index, ref.hash, ref.size));
  }

  clearBlocks(ino: Ino): void {
    this.guard(() => this.st.clearBlocks.run(ino));
  }

  /** ENOENT when the node does not exist. */
  setXattr(ino: Ino, name: string, value: Buffer): void {
    this.withNode(ino, () => this.st.setXattr.run(ino, name, value));
  }

  getXattr(ino: Ino, name: string): Buffer | undefined {
    return this.guard(() => this.st.getXattr.get(ino, name));
  }

  childrenWithXattrs(parent: Ino): Set<Ino> {
    return this.guard(() => new Set(this.st.childrenWithXattrs.all(parent)));
  }

  listXattrs(ino: Ino): string[] {
    return this.guard(() => this.st.listXattrs.all(ino));
  }

  removeXattr(ino: Ino, name: string): boolean {
    return this.guard(() => this.st.removeXattr.run(ino, name).changes > 0);
  }

  counts(): { nodes: number } {
    return this.guard(() => ({ nodes: this.st.countNodes.get()! }));
  }

  /** SQLite failures reject as FsErrors (see fromSqliteError); an FsError thrown by `fn` passes through. */
  transaction<T>(fn: () => T): T {
    return this.guard(() => this.db.transaction(fn)());
  }

  /** Closes the database connection. */
  close(): void {
    if (this.db.open) this.db.close();
  }

  /** Runs one statement (or transaction), turning SQLite failures into FsErrors naming the database. */
  private guard<T>(fn: () => T): T {
    try {
      return fn();
    } catch (err) {
      throw fromSqliteError(err, this.db.name);
    }
  }

  private initialize(): void {
    if (this.st.getNode.get(ROOT_INO) === undefined) {
      const now = this.core.now();
      this.st.insertNodeWithIno.run(
        toNodeParams({
          ino: ROOT_INO,
          type: 'directory',
          mode: 0o755,
          uid: this.core.uid,
          gid: this.core.gid,
          size: 0,
          atimeNs: now,
          mtimeNs: now,
          ctimeNs: now,
          nlink: 2,
          state: 'clean',
        }),
      );
    }
    this.st.sweepOrphans.run(ROOT_INO);
  }

  private requireFree(parent: Ino, name: string): void {
    if (this.st.entryIno.get(parent, name) !== undefined) {
      throw new FsError('EEXIST', `'${name}' already exists in directory ${parent}`, { path: name });
    }
  }

  /** Runs a write on a node's dependent rows, turning a missing node into ENOENT. */
  private withNode(ino: Ino, write: () => void): void {
    this.transaction(() => {
      this.core.requireNode(ino);
      write();
    });
  }
}

/**
 * Opens the metadata index in `db` (tables migrated, root created on first
 * open with mode S_IFDIR|0755 and the given uid/gid). Nodes left without a
 * name by a previous process (unlinked while open) are deleted: no handle
 * survives a restart.
 */
export function openMetadataIndex(db: Database, options: MetadataIndexOptions): SqliteMetadataIndex {
  return new SqliteMetadataIndex(db, options);
}
