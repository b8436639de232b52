import type { FileStat, StorageDriver } from '../drivers/types.js';

/** Entries asked for per backend request while listing (drivers may return fewer). */
export const DEFAULT_LIST_PAGE_SIZE = 1000;

/** What a listing walks: a folder, shallow or recursive, and which entries it keeps. */
export interface ListingQuery<T> {
  dir: string;
  recursive: boolean;
  pageSize: number;
  /** Maps a kept entry to what the listing yields; returns undefined to skip it. */
  pick: (entry: FileStat) => T | undefined;
}

/**
 * The answer of `files()`, `allFiles()`, `directories()`, `allDirectories()`
 * and `list()`: one object, two ways to consume it.
 *
 * - `for await (const path of disk.allFiles('logs'))` walks the folder lazily,
 *   one backend page at a time (huge folders never sit in memory); breaking
 *   out of the loop stops the listing.
 * - `await disk.files('logs')` (or `.toArray()`) collects every page into an
 *   array, for the common small case.
 *
 * Nothing is requested before one of them starts. Each iteration lists
 * afresh; awaiting the same object twice gives the same (first) result.
 * Entries come in the backend's order; paths are disk-relative keys (not
 * relative to the folder). A missing folder lists as empty; a file is ENOTDIR.
 */
export class Listing<T> implements AsyncIterable<T>, PromiseLike<T[]> {
  #collected: Promise<T[]> | undefined;

  constructor(
    private readonly driver: () => Promise<StorageDriver>,
    private readonly query: ListingQuery<T>,
  ) {}

  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    for await (const page of this.pages()) yield* page;
  }

  /** The listing page by page, as the backend answers (each page already filtered and mapped). */
  async *pages(): AsyncGenerator<T[]> {
    const driver = await this.driver();
    let cursor: string | undefined;
    do {
      const page = await driver.list(this.query.dir, {
        recursive: this.query.recursive,
        pageSize: this.query.pageSize,
        ...(cursor !== undefined ? { cursor } : {}),
      });
      const kept: T[] = [];
      for (const entry of page.entries) {
        const value = this.query.pick(entry);
        if (value !== undefined) kept.push(value);
      }
      if (kept.length > 0) yield kept;
      cursor = page.cursor;
    } while (cursor !== undefined);
  }

  /** Every entry in one array (all pages read). */
  toArray(): Promise<T[]> {
    this.#collected ??= (async () => {
      const all: T[] = [];
      for await (const page of this.pages()) all.push(...page);
      return all;
    })();
    return this.#collected;
  }

  /** Makes `await listing` give toArray()'s result. */
  then<R1 = T[], R2 = never>(
    onfulfilled?: ((value: T[]) => R1 | PromiseLike<R1>) | null,
    onrejected?: ((reason: unknown) => R2 | PromiseLike<R2>) | null,
  ): Promise<R1 | R2> {
    return this.toArray().then(onfulfilled, onrejected);
  }
}

/** Keeps files, yielding their paths. */
export const filePaths = (entry: FileStat): string | undefined => (entry.type === 'file' ? entry.path : undefined);

/** Keeps directories, yielding their paths. */
export const directoryPaths = (entry: FileStat): string | undefined => (entry.type === 'directory' ? entry.path : undefined);

/** Keeps every entry as it is. */
export const everyEntry = (entry: FileStat): FileStat => entry;
