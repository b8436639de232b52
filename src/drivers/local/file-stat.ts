import type { BigIntStats } from 'node:fs';
import { guessMimeType } from '../shared/body.js';
import type { FileStat } from '../types.js';
import { visibilityOfMode } from './visibility.js';

/**
 * A FileStat from a (bigint) stat of a real path. Files get an etag of
 * inode, size and mtime in nanoseconds (an atomic overwrite changes the inode,
 * so the etag changes even within one clock tick), a MIME type guessed from
 * the extension and the visibility read from the mode bits.
 */
export function toFileStat(key: string, stats: BigIntStats): FileStat {
  const lastModified = new Date(Number(stats.mtimeMs));
  const visibility = visibilityOfMode(Number(stats.mode));
  if (stats.isDirectory()) {
    return { path: key, type: 'directory', size: 0, lastModified, visibility };
  }
  return {
    path: key,
    type: 'file',
    size: Number(stats.size),
    lastModified,
    etag: `${stats.ino.toString(36)}-${stats.size.toString(36)}-${stats.mtimeNs.toString(36)}`,
    mimeType: guessMimeType(key),
    visibility,
  };
}
