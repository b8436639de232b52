import { FsError } from '../../core/errors.js';
import type { Database } from '../db.js';
import { ROOT_INO, type Ino } from '../vfs/types.js';
import { toNodeRow } from './node-row.js';
import type { Statements } from './statements.js';
import type { NodeRow, Unlinked } from './types.js';

/** Deepest directory nesting the index walks before it calls the tree corrupt. */
export const MAX_DEPTH = 4096;

/**
 * What the parts of the metadata index (index, rename, reconcile, paths)
 * share: the connection, its statements, the clock and the mount's owner,
 * plus the lookups and the name removal they all need.
 */
export class IndexCore {
  constructor(
    readonly db: Database,
    readonly st: Statements,
    /** Current time, ns since the epoch. */
    readonly now: () => bigint,
    readonly uid: number,
    readonly gid: number,
  ) {}

  /** The node, or undefined. */
  node(ino: Ino): NodeRow | undefined {
    const record = this.st.getNode.get(ino);
    return record === undefined ? undefined : toNodeRow(record);
  }

  /** The node; ENOENT when it does not exist. */
  requireNode(ino: Ino): NodeRow {
    const node = this.node(ino);
    if (node === undefined) throw new FsError('ENOENT', `no inode ${ino}`, { path: String(ino) });
    return node;
  }

  /** The directory node; ENOENT when missing, ENOTDIR when not a directory. */
  requireDirectory(ino: Ino): NodeRow {
    const node = this.requireNode(ino);
    if (node.type !== 'directory') throw new FsError('ENOTDIR', `inode ${ino} is not a directory`, { path: String(ino) });
    return node;
  }

  /** The child `name` of `parent`, or undefined. */
  lookup(parent: Ino, name: string): NodeRow | undefined {
    const record = this.st.lookup.get(parent, name);
    return record === undefined ? undefined : toNodeRow(record);
  }

  /** The parent of a node through its first name (undefined for the root and unlinked nodes). */
  parentOf(ino: Ino): Ino | undefined {
    return this.st.firstName.get(ino)?.parent;
  }

  /** True when `ancestor` is `ino` or one of the directories above it. */
  isSelfOrAncestor(ancestor: Ino, ino: Ino): boolean {
    let current: Ino | undefined = ino;
    for (let depth = 0; current !== undefined; depth++) {
      if (current === ancestor) return true;
      if (current === ROOT_INO) return false;
      if (depth > MAX_DEPTH) throw new FsError('EIO', `metadata index: directory cycle above inode ${ino}`, { path: String(ino) });
      current = this.parentOf(current);
    }
    return false;
  }

  /** Marks a directory's entries as changed now (mtime and ctime). */
  touchDirectory(dir: Ino): void {
    this.st.touchDir.run({ ino: dir, now: this.now() });
  }

  /**
   * Removes the entry parent/name of `node` (already looked up): the link
   * count follows the names left (0 for a directory), the parent loses a
   * subdirectory link, parent times and the node's ctime are set. The caller
   * checks emptiness of directories. The row stays until forget().
   */
  removeEntry(parent: Ino, name: string, node: NodeRow): Unlinked {
    const now = this.now();
    this.st.deleteEntry.run(parent, name);
    const names = node.type === 'directory' ? 0 : this.st.linkCount.get(node.ino)!;
    this.st.setNlink.run(names, node.ino);
    this.st.touchCtime.run({ ino: node.ino, now });
    if (node.type === 'directory') this.st.addNlink.run(-1, parent);
    this.st.touchDir.run({ ino: parent, now });
    return { node: this.requireNode(node.ino), lastLink: names === 0 };
  }

  /** Sets a directory's link count to 2 + its subdirectories. */
  recountLinks(dir: Ino): void {
    this.st.setNlink.run(2 + this.st.childDirCount.get(dir)!, dir);
  }
}
