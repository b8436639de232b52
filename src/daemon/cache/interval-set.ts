import { FsError } from '../../core/errors.js';

/**
 * A set of non-negative integer byte offsets kept as sorted, disjoint,
 * non-adjacent half-open intervals [start, end). Adding merges overlapping
 * and touching intervals; removing splits them. Lookups are binary searches,
 * so a file written in many small pieces stays cheap to query.
 */

/** One half-open interval [start, end), start < end. */
export interface Interval {
  start: number;
  end: number;
}

/** A byte range as offset + length (the shape WorkingFile.missing returns). */
export interface ByteRange {
  offset: number;
  length: number;
}

/** Sorted, merged intervals of held bytes. */
export class IntervalSet {
  private readonly items: Interval[] = [];
  private bytes = 0;

  /** A set holding the given intervals (any order, overlaps allowed). */
  static from(intervals: Iterable<readonly [number, number]>): IntervalSet {
    const set = new IntervalSet();
    for (const [start, end] of intervals) set.add(start, end);
    return set;
  }

  /** Total bytes covered. */
  get total(): number {
    return this.bytes;
  }

  /** Number of disjoint intervals. */
  get count(): number {
    return this.items.length;
  }

  /** A copy of the intervals, in order. */
  intervals(): Interval[] {
    return this.items.map((item) => ({ ...item }));
  }

  /** The intervals as [start, end] pairs (JSON-friendly; `from` reads it back). */
  toJSON(): Array<[number, number]> {
    return this.items.map((item) => [item.start, item.end]);
  }

  /** Adds [start, end); empty or inverted ranges are ignored. */
  add(start: number, end: number): void {
    checkBounds(start, end);
    if (end <= start) return;
    // First interval that ends at or after `start` (touching counts: merge).
    const first = this.firstEndingAtOrAfter(start);
    let last = first;
    let mergedStart = start;
    let mergedEnd = end;
    let removedBytes = 0;
    while (last < this.items.length && this.items[last]!.start <= end) {
      const item = this.items[last]!;
      mergedStart = Math.min(mergedStart, item.start);
      mergedEnd = Math.max(mergedEnd, item.end);
      removedBytes += item.end - item.start;
      last++;
    }
    this.items.splice(first, last - first, { start: mergedStart, end: mergedEnd });
    this.bytes += mergedEnd - mergedStart - removedBytes;
  }

  /** Removes [start, end), splitting an interval that straddles either edge. */
  remove(start: number, end: number): void {
    checkBounds(start, end);
    if (end <= start) return;
    // First interval that ends strictly after `start` (one ending at `start` is untouched).
    let index = this.firstEndingAfter(start);
    const replacement: Interval[] = [];
    const from = index;
    let removedBytes = 0;
    while (index < this.items.length && this.items[index]!.start < end) {
      const item = this.items[index]!;
      removedBytes += item.end - item.start;
      if (item.start < start) replacement.push({ start: item.start, end: start });
      if (item.end > end) replacement.push({ start: end, end: item.end });
      index++;
    }
    if (index === from) return;
    for (const piece of replacement) removedBytes -= piece.end - piece.start;
    this.items.splice(from, index - from, ...replacement);
    this.bytes -= removedBytes;
  }

  /** Drops everything at or beyond `size`. */
  truncate(size: number): void {
    const last = this.items[this.items.length - 1];
    if (last !== undefined && last.end > size) this.remove(size, last.end);
  }

  /** True when every byte of [start, end) is in the set (an empty range always is). */
  covers(start: number, end: number): boolean {
    if (end <= start) return true;
    const index = this.firstEndingAfter(start);
    const item = this.items[index];
    return item !== undefined && item.start <= start && item.end >= end;
  }

  /** True when any byte of [start, end) is in the set. */
  intersects(start: number, end: number): boolean {
    if (end <= start) return false;
    const item = this.items[this.firstEndingAfter(start)];
    return item !== undefined && item.start < end;
  }

  /** The sub-ranges of [start, end) that are NOT in the set, in order. */
  gaps(start: number, end: number): ByteRange[] {
    const result: ByteRange[] = [];
    if (end <= start) return result;
    let cursor = start;
    for (let index = this.firstEndingAfter(start); index < this.items.length; index++) {
      const item = this.items[index]!;
      if (item.start >= end) break;
      if (item.start > cursor) result.push({ offset: cursor, length: item.start - cursor });
      cursor = Math.max(cursor, item.end);
      if (cursor >= end) break;
    }
    if (cursor < end) result.push({ offset: cursor, length: end - cursor });
    return result;
  }

  /** Index of the first interval with end >= offset (items.length when none). */
  private firstEndingAtOrAfter(offset: number): number {
    let low = 0;
    let high = this.items.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (this.items[mid]!.end < offset) low = mid + 1;
      else high = mid;
    }
    return low;
  }

  /** Index of the first interval with end > offset (items.length when none). */
  private firstEndingAfter(offset: number): number {
    let low = 0;
    let high = this.items.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (this.items[mid]!.end <= offset) low = mid + 1;
      else high = mid;
    }
    return low;
  }
}

function checkBounds(start: number, end: number): void {
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || end < 0) {
    throw new FsError('EINVAL', `interval [${start}, ${end}) must have non-negative safe-integer bounds`);
  }
}
