import { FsError } from '../../core/errors.js';
import { ROOT_INO, type Ino } from '../vfs/types.js';
import { MAX_DEPTH, type IndexCore } from './core.js';
import type { NodeRow } from './types.js';

/**
 * Paths of nodes: the backend key of a node is the '/'-joined names from the
 * root down ('' for the root). A node with several names (hard links) has
 * one path per name; its first name is the oldest one.
 */

/**
 * The path of a node through its first name. ENOENT when the node has no
 * name (unlinked, or unknown); EIO when the entries form a cycle (corrupt index).
 */
export function pathOf(core: IndexCore, ino: Ino): string {
  if (ino === ROOT_INO) return '';
  const names: string[] = [];
  let current = ino;
  while (current !== ROOT_INO) {
    if (names.length > MAX_DEPTH) {
      throw new FsError('EIO', `metadata index: directory cycle above inode ${ino}`, { path: String(ino) });
    }
    const first = core.st.firstName.get(current);
    if (first === undefined) {
      throw new FsError('ENOENT', `inode ${current} has no name${current === ino ? '' : ` (an ancestor of inode ${ino})`}`, {
        path: String(ino),
      });
    }
    names.push(first.name);
    current = first.parent;
  }
  return names.reverse().join('/');
}

/** Every path of a node, one per name, oldest name first ([''] for the root, [] for an unlinked node). */
export function pathsOf(core: IndexCore, ino: Ino): string[] {
  if (ino === ROOT_INO) return [''];
  return core.st.namesOf.all(ino).map(({ parent, name }) => {
    const parentPath = pathOf(core, parent);
    return parentPath === '' ? name : `${parentPath}/${name}`;
  });
}

/**
 * The node at a '/'-separated path from the root (empty segments ignored, so
 * '', '/' and 'a//b/' work), or undefined when a name is missing or a
 * non-final segment is not a directory.
 */
export function resolvePath(core: IndexCore, path: string): NodeRow | undefined {
  let node = core.node(ROOT_INO);
  for (const segment of path.split('/')) {
    if (segment === '') continue;
    if (node === undefined || node.type !== 'directory') return undefined;
    node = core.lookup(node.ino, segment);
  }
  return node;
}
