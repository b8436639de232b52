import { AssertionError } from 'node:assert';
import { isFsError } from '../core/errors.js';
import type { FileStat, StorageDriver } from '../drivers/types.js';
import { readToBuffer } from './disk-read.js';
import { Listing, filePaths, DEFAULT_LIST_PAGE_SIZE } from './disk-listing.js';

/** The disk an assertion looks at: its name for messages and its driver. */
export interface AssertedDisk {
  name: string;
  driver(): Promise<StorageDriver>;
}

/** Options of assertCount. */
export interface CountOptions {
  /** Count every file below the folder, not only its own (default false). */
  recursive?: boolean;
}

/** Longest content excerpt an assertion message shows. */
const EXCERPT = 120;

/**
 * Fails with node's AssertionError unless every path exists on the disk (a
 * file or a directory, as exists() says); with `content`, each must be a file
 * holding exactly those bytes (text is compared as UTF-8).
 */
export async function assertExists(disk: AssertedDisk, paths: string | string[], content?: string | Uint8Array): Promise<void> {
  const driver = await disk.driver();
  for (const path of toList(paths)) {
    const stat = await statOrNull(driver, path);
    if (stat === null) fail(`expected '${path}' to exist on disk '${disk.name}', but it is missing`, 'assertExists');
    if (content === undefined) continue;
    if (stat.type !== 'file') fail(`expected '${path}' on disk '${disk.name}' to be a file with the given content, but it is a directory`, 'assertExists');
    const expected = typeof content === 'string' ? Buffer.from(content, 'utf8') : Buffer.from(content);
    const actual = await readToBuffer(await driver.read(path));
    if (!actual.equals(expected)) {
      throw new AssertionError({
        message: `expected '${path}' on disk '${disk.name}' to hold ${describe(expected)}, but it holds ${describe(actual)}`,
        actual: shown(actual, typeof content === 'string'),
        expected: shown(expected, typeof content === 'string'),
        operator: 'assertExists',
      });
    }
  }
}

/** Fails with AssertionError if any of the paths exists on the disk (as a file or a directory). */
export async function assertMissing(disk: AssertedDisk, paths: string | string[]): Promise<void> {
  const driver = await disk.driver();
  for (const path of toList(paths)) {
    const stat = await statOrNull(driver, path);
    if (stat !== null) fail(`expected '${path}' to be missing on disk '${disk.name}', but a ${stat.type} is there`, 'assertMissing');
  }
}

/** Fails with AssertionError unless `dir` holds exactly `count` files (directories are not counted). */
export async function assertCount(disk: AssertedDisk, dir: string, count: number, options: CountOptions = {}): Promise<void> {
  const files = await listFiles(disk, dir, options.recursive ?? false);
  if (files.length !== count) {
    const where = options.recursive ? `in '${dir}' and below` : `directly in '${dir}'`;
    throw new AssertionError({
      message: `expected ${count} file(s) ${where} on disk '${disk.name}', found ${files.length}${listed(files)}`,
      actual: files.length,
      expected: count,
      operator: 'assertCount',
    });
  }
}

/**
 * Fails with AssertionError if any file lies in `dir` or below it. As in
 * Laravel, empty subfolders do not count: the folder is "empty" of files.
 */
export async function assertDirectoryEmpty(disk: AssertedDisk, dir: string): Promise<void> {
  const files = await listFiles(disk, dir, true);
  if (files.length > 0) fail(`expected '${dir}' on disk '${disk.name}' to hold no files, found ${files.length}${listed(files)}`, 'assertDirectoryEmpty');
}

function listFiles(disk: AssertedDisk, dir: string, recursive: boolean): Promise<string[]> {
  return new Listing(() => disk.driver(), { dir, recursive, pageSize: DEFAULT_LIST_PAGE_SIZE, pick: filePaths }).toArray();
}

async function statOrNull(driver: StorageDriver, path: string): Promise<FileStat | null> {
  try {
    return await driver.stat(path);
  } catch (err) {
    if (isFsError(err, 'ENOENT', 'ENOTDIR')) return null;
    throw err;
  }
}

function fail(message: string, operator: string): never {
  throw new AssertionError({ message, operator });
}

function toList(paths: string | string[]): string[] {
  return typeof paths === 'string' ? [paths] : paths;
}

function listed(paths: string[]): string {
  if (paths.length === 0) return '';
  const first = paths.slice(0, 10).map((p) => `'${p}'`).join(', ');
  return `: ${first}${paths.length > 10 ? `, ... (${paths.length - 10} more)` : ''}`;
}

function describe(bytes: Buffer): string {
  const text = bytes.toString('utf8');
  const printable = Buffer.from(text, 'utf8').equals(bytes) && !/[\u0000-\u0008\u000e-\u001f]/.test(text);
  if (!printable) return `${bytes.length} bytes`;
  return `${bytes.length} bytes ${JSON.stringify(text.length > EXCERPT ? `${text.slice(0, EXCERPT)}...` : text)}`;
}

function shown(bytes: Buffer, asText: boolean): string | Buffer {
  return asText ? bytes.toString('utf8') : bytes;
}
