import { readdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';

/** What sweepBlockFolder needs from the block store. */
export interface SweepHooks {
  /** True while a put or an eviction is working on this hash (leave its files alone). */
  isBusy(hash: string): boolean;
  /** Hashes with a row among those this folder holds; undefined when the store closed. */
  rowsWithPrefix(): string[] | undefined;
  /** True when the block has a row now. */
  hasRow(hash: string): boolean;
  /** Deletes the row of a block whose file is gone. */
  dropRow(hash: string): void;
}

const BLOCK_NAME = /^[0-9a-f]{64}$/;
const TEMP_NAME = /^\.([0-9a-f]{64})\..*\.tmp$/;

/**
 * Reconciles one `blocks/<aa>` folder with the table: deletes temporary
 * files of puts that never finished, block files that have no row (a crash
 * between rename and insert), and rows whose file is missing. Rows are read
 * before the folder, so a block put meanwhile is never mistaken for lost, and
 * a file is only deleted as an orphan after a live check of its row.
 * A missing folder just means no block of that prefix was ever stored.
 */
export async function sweepBlockFolder(folder: string, hooks: SweepHooks): Promise<void> {
  const rows = hooks.rowsWithPrefix();
  if (rows === undefined) return;
  let names: string[];
  try {
    names = await readdir(folder);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    names = [];
  }
  const files = new Set<string>();
  const doomed: string[] = [];
  for (const name of names) {
    const temp = TEMP_NAME.exec(name);
    if (temp !== null) {
      if (!hooks.isBusy(temp[1]!)) doomed.push(name);
    } else if (BLOCK_NAME.test(name)) {
      files.add(name);
    }
  }
  const known = new Set(rows);
  for (const name of files) {
    // Checked live: a put may have inserted its row after the snapshot above.
    if (!known.has(name) && !hooks.isBusy(name) && !hooks.hasRow(name)) doomed.push(name);
  }
  for (const hash of rows) {
    if (!files.has(hash) && !hooks.isBusy(hash)) hooks.dropRow(hash);
  }
  await Promise.all(doomed.map((name) => unlink(join(folder, name)).catch(() => undefined)));
}
