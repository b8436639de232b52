import { createHash } from 'node:crypto';
import type { StorageDriver } from '../../drivers/types.js';
import { assembleRange, type ContentLayers } from './assemble.js';
import { blockCount, blockLength } from './binding.js';
import type { ContentLogger } from './options.js';
import type { CleanSource } from './types.js';

/** The etag and size of a clean source, as Committed carries them. */
export function versionOf(source: CleanSource): { etag?: string; size: number } {
  return source.etag === undefined ? { size: source.size } : { etag: source.etag, size: source.size };
}

/** sha256 hex of a buffer. */
export function sha256Hex(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Hex digest (sha256 unless told) of the first `size` bytes of content, read block by block from its layers (never all in memory). */
export async function hashContent(layers: ContentLayers, size: number, algorithm: 'sha256' | 'md5' = 'sha256'): Promise<string> {
  const hash = createHash(algorithm);
  for (let block = 0; block < blockCount(size, layers.blockSize); block++) {
    hash.update(await assembleRange(layers, block * layers.blockSize, blockLength(block, size, layers.blockSize)));
  }
  return hash.digest('hex');
}

/**
 * The remote version time of `key` in ms: with an etag (versions compare by
 * it) the local clock, saving a request per commit; without one the
 * backend's lastModified (driver.stat), or the local clock when it cannot tell.
 */
export async function remoteMtime(ctx: { driver: StorageDriver; logger: ContentLogger }, key: string, etag: string | undefined): Promise<number> {
  if (etag !== undefined) return Date.now();
  try {
    const ms = (await ctx.driver.stat(key)).lastModified.getTime();
    if (ms > 0) return ms;
  } catch (err) {
    ctx.logger.debug({ err, key }, 'stat after commit failed: using the local clock');
  }
  return Date.now();
}
