import type { WorkingFile } from '../cache/types.js';
import type { CleanBinding } from './binding.js';
import type { BlockFetcher } from './fetcher.js';
import { runLimited } from './streams.js';

/** The layers a range of a file is assembled from. */
export interface ContentLayers {
  /** Dirty data, where the file has been written. */
  working?: WorkingFile;
  /** The clean version (absent for a file never uploaded). */
  binding?: CleanBinding;
  fetcher: BlockFetcher;
  blockSize: number;
  /** Blocks assembled at once. */
  concurrency: number;
}

interface Span {
  offset: number;
  length: number;
}

/**
 * Bytes [offset, offset + length) of a file, which the caller has clamped to
 * its size: per block, the ranges the working file holds come from it, the
 * rest from the clean content (cached block or backend); bytes past the
 * clean content that the working file does not hold read as zeros. The
 * result may share memory with the cache's copy of a block (a concurrent
 * reader of the same block gets the same bytes): read it, never modify it.
 */
export async function assembleRange(layers: ContentLayers, offset: number, length: number): Promise<Buffer> {
  if (comesFromOneCleanBlock(layers, offset, length)) {
    const { binding, blockSize } = layers;
    const index = Math.floor(offset / blockSize);
    return layers.fetcher.read(binding!, index, offset - index * blockSize, offset + length - index * blockSize);
  }
  const out = Buffer.alloc(length);
  const end = offset + length;
  const { blockSize } = layers;
  const tasks: Array<() => Promise<void>> = [];
  for (let index = Math.floor(offset / blockSize); index * blockSize < end; index++) {
    const start = Math.max(offset, index * blockSize);
    const stop = Math.min(end, (index + 1) * blockSize);
    tasks.push(() => fillBlock(layers, out, offset, index, start, stop));
  }
  await runLimited(tasks, layers.concurrency);
  return out;
}

/**
 * True when every byte of the range is clean content of a single block (the
 * usual sequential read of a file not being written): the fetcher's bytes
 * are then the answer as they are, with no buffer to fill and no copy.
 */
function comesFromOneCleanBlock(layers: ContentLayers, offset: number, length: number): boolean {
  const { working, binding, blockSize } = layers;
  if (binding === undefined || length === 0) return false;
  const end = offset + length;
  if (end > binding.source.size || Math.floor(offset / blockSize) !== Math.floor((end - 1) / blockSize)) return false;
  if (working === undefined) return true;
  const [gap, more] = working.missing(offset, length);
  return gap !== undefined && more === undefined && gap.offset === offset && gap.length === length;
}

/** Fills out[start - base, stop - base) from block `index`'s layers. */
async function fillBlock(layers: ContentLayers, out: Buffer, base: number, index: number, start: number, stop: number): Promise<void> {
  const { working, binding } = layers;
  const missing = working ? working.missing(start, stop - start) : [{ offset: start, length: stop - start }];
  for (const held of complement(start, stop, missing)) {
    const bytes = await working!.read(held.offset, held.length);
    bytes.copy(out, held.offset - base, 0, Math.min(bytes.length, held.length));
  }
  const cleanEnd = binding?.source.size ?? 0;
  const fromClean = missing
    .map((span) => ({ offset: span.offset, length: Math.min(span.offset + span.length, cleanEnd) - span.offset }))
    .filter((span) => span.length > 0);
  if (fromClean.length === 0 || binding === undefined) return;
  const blockStart = index * layers.blockSize;
  const first = fromClean[0]!.offset;
  const last = fromClean[fromClean.length - 1]!;
  const bytes = await layers.fetcher.read(binding, index, first - blockStart, last.offset + last.length - blockStart);
  for (const span of fromClean) {
    bytes.copy(out, span.offset - base, span.offset - first, span.offset - first + span.length);
  }
}

/** The parts of [start, stop) not covered by `gaps` (sorted, within the range). */
function complement(start: number, stop: number, gaps: Span[]): Span[] {
  const held: Span[] = [];
  let cursor = start;
  for (const gap of gaps) {
    if (gap.offset > cursor) held.push({ offset: cursor, length: gap.offset - cursor });
    cursor = Math.max(cursor, gap.offset + gap.length);
  }
  if (cursor < stop) held.push({ offset: cursor, length: stop - cursor });
  return held;
}
