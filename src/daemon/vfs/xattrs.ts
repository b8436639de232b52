import { FsError } from '../../core/errors.js';
import { nowNs } from './clock.js';
import { requireNode, type VfsContext } from './context.js';
import type { Ino } from './types.js';

/** setxattr flags (Linux values). */
export const XATTR_CREATE = 1;
export const XATTR_REPLACE = 2;
/** Largest attribute value (Linux XATTR_SIZE_MAX). */
const MAX_VALUE_BYTES = 64 * 1024;
/** Longest attribute name (Linux XATTR_NAME_MAX). */
const MAX_NAME_BYTES = 255;

/**
 * Extended attributes, kept in the index only (they do not travel to the
 * backend in this version). Missing attributes are ENODATA; XATTR_CREATE on
 * an existing one is EEXIST, XATTR_REPLACE on a missing one ENODATA. Setting
 * or removing one changes ctime.
 */
export class Xattrs {
  constructor(private readonly ctx: VfsContext) {}

  set(ino: Ino, name: string, value: Buffer, flags: number): void {
    requireNode(this.ctx, ino, 'setxattr');
    checkName(name, 'setxattr');
    if (value.length > MAX_VALUE_BYTES) {
      throw new FsError('ENOSPC', `setxattr '${name}': value of ${value.length} bytes exceeds ${MAX_VALUE_BYTES}`, { op: 'setxattr' });
    }
    const exists = this.ctx.index.getXattr(ino, name) !== undefined;
    if (flags & XATTR_CREATE && exists) throw new FsError('EEXIST', `setxattr '${name}': already set`, { op: 'setxattr' });
    if (flags & XATTR_REPLACE && !exists) throw new FsError('ENODATA', `setxattr '${name}': not set`, { op: 'setxattr' });
    this.ctx.index.transaction(() => {
      this.ctx.index.setXattr(ino, name, value);
      this.ctx.index.update(ino, { ctimeNs: nowNs() });
    });
  }

  get(ino: Ino, name: string): Buffer {
    requireNode(this.ctx, ino, 'getxattr');
    const value = this.ctx.index.getXattr(ino, name);
    if (value === undefined) throw new FsError('ENODATA', `getxattr '${name}': no such attribute on inode ${ino}`, { op: 'getxattr' });
    return value;
  }

  list(ino: Ino): string[] {
    requireNode(this.ctx, ino, 'listxattr');
    return this.ctx.index.listXattrs(ino);
  }

  remove(ino: Ino, name: string): void {
    requireNode(this.ctx, ino, 'removexattr');
    const removed = this.ctx.index.transaction(() => {
      const found = this.ctx.index.removeXattr(ino, name);
      if (found) this.ctx.index.update(ino, { ctimeNs: nowNs() });
      return found;
    });
    if (!removed) throw new FsError('ENODATA', `removexattr '${name}': no such attribute on inode ${ino}`, { op: 'removexattr' });
  }
}

function checkName(name: string, op: string): void {
  const bytes = Buffer.byteLength(name, 'utf8');
  if (bytes === 0) throw new FsError('EINVAL', `${op}: empty attribute name`, { op });
  if (bytes > MAX_NAME_BYTES) throw new FsError('ERANGE', `${op}: attribute name of ${bytes} bytes exceeds ${MAX_NAME_BYTES}`, { op });
}
