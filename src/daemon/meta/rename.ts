import { FsError } from '../../core/errors.js';
import type { Ino } from '../vfs/types.js';
import type { IndexCore } from './core.js';
import { checkName } from './node-row.js';
import type { Unlinked } from './types.js';

/**
 * rename(2) on the index, in the caller's transaction: moves parent/name to
 * newParent/newName.
 * - ENOENT: source (or either parent) missing; ENOTDIR: a parent is not a directory.
 * - Same entry, or both names already link the same node: nothing changes.
 * - EINVAL: a directory moved into itself or below itself.
 * - Existing target: a non-directory replaces a non-directory; a directory
 *   replaces an empty directory; ENOTDIR (directory over non-directory),
 *   EISDIR (non-directory over directory), ENOTEMPTY (over a non-empty
 *   directory) otherwise. The replaced name is removed as unlink does.
 * Both parents get mtime/ctime = now, the moved node ctime = now; directory
 * link counts follow the move.
 */
export function renameEntry(core: IndexCore, parent: Ino, name: string, newParent: Ino, newName: string): { replaced?: Unlinked } {
  checkName(newName);
  core.requireDirectory(parent);
  const source = core.lookup(parent, name);
  if (source === undefined) throw new FsError('ENOENT', `no entry '${name}' in directory ${parent}`, { path: name, op: 'rename' });
  core.requireDirectory(newParent);
  if (parent === newParent && name === newName) return {};
  const target = core.lookup(newParent, newName);
  if (target !== undefined && target.ino === source.ino) return {};
  if (source.type === 'directory' && core.isSelfOrAncestor(source.ino, newParent)) {
    throw new FsError('EINVAL', `cannot move directory '${name}' into itself ('${newName}' in inode ${newParent})`, {
      path: name,
      op: 'rename',
    });
  }

  let replaced: Unlinked | undefined;
  if (target !== undefined) {
    if (source.type === 'directory' && target.type !== 'directory') {
      throw new FsError('ENOTDIR', `cannot replace non-directory '${newName}' with directory '${name}'`, { path: newName, op: 'rename' });
    }
    if (source.type !== 'directory' && target.type === 'directory') {
      throw new FsError('EISDIR', `cannot replace directory '${newName}' with non-directory '${name}'`, { path: newName, op: 'rename' });
    }
    if (target.type === 'directory' && core.st.childCount.get(target.ino)! > 0) {
      throw new FsError('ENOTEMPTY', `directory '${newName}' is not empty`, { path: newName, op: 'rename' });
    }
    replaced = core.removeEntry(newParent, newName, target);
  }

  core.st.moveEntry.run(newParent, newName, parent, name);
  if (source.type === 'directory' && parent !== newParent) {
    core.st.addNlink.run(-1, parent);
    core.st.addNlink.run(1, newParent);
  }
  const now = core.now();
  core.st.touchCtime.run({ ino: source.ino, now });
  core.st.touchDir.run({ ino: parent, now });
  if (newParent !== parent) core.st.touchDir.run({ ino: newParent, now });
  return replaced === undefined ? {} : { replaced };
}
