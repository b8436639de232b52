import { mkdir, mkdtemp, open, rm, stat, unlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalWatcher } from '../../../src/daemon/hooks/local-watcher.js';
import type { DropFileVersion } from '../../../src/daemon/hooks/types.js';

const STABLE_MS = 600;

let root: string;
let watcher: LocalWatcher | undefined;
/** Every report, with the time it came. */
let reports: Array<DropFileVersion & { atMs: number }>;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'storaged-watch-'));
  reports = [];
});

afterEach(async () => {
  await watcher?.close();
  watcher = undefined;
  await rm(root, { recursive: true, force: true });
});

async function startWatcher(ignore: string[] = [], stableMs = STABLE_MS): Promise<LocalWatcher> {
  watcher = new LocalWatcher({
    root,
    stableMs,
    ignore,
    onFile: (version) => {
      reports.push({ ...version, atMs: Date.now() });
    },
    onError: (err) => {
      throw err;
    },
  });
  await watcher.start();
  return watcher;
}

async function put(path: string, bytes: string | Buffer, mtime?: Date): Promise<void> {
  const full = join(root, path);
  await mkdir(dirname(full), { recursive: true });
  await writeFile(full, bytes);
  if (mtime) await utimes(full, mtime, mtime);
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits until `predicate` holds (polling), failing after timeoutMs. */
async function until(predicate: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`condition not met after ${timeoutMs} ms; reports: ${JSON.stringify(reports)}`);
    await sleep(25);
  }
}

const paths = (): string[] => reports.map((r) => r.path).sort();

describe('LocalWatcher', () => {
  it('reports every file already there on start, once, except dotfiles and the ignored folders', async () => {
    const old = new Date(Date.now() - 60_000);
    await put('a.jpg', 'a', old);
    await put('2026/b.pdf', 'bb', old);
    await put('2026/deep/c.txt', 'ccc', old);
    await put('.hidden', 'x', old);
    await put('.cache/d.txt', 'x', old);
    await put('2026/.e.jpg.1234abcd.tmp', 'x', old);
    await put('thumbs/2026/a.150x150.webp', 'x', old);
    await put('other/derived/f.png', 'x', old);
    const began = Date.now();
    await startWatcher(['thumbs', join(root, 'other/derived')]);
    await until(() => reports.length >= 3);
    // Old files are idle already: reported without waiting stable_ms.
    expect(Math.max(...reports.map((r) => r.atMs)) - began).toBeLessThan(STABLE_MS);
    await sleep(STABLE_MS + 300);
    expect(paths()).toEqual(['2026/b.pdf', '2026/deep/c.txt', 'a.jpg']);
    const a = await stat(join(root, 'a.jpg'));
    expect(reports.find((r) => r.path === 'a.jpg')).toMatchObject({ size: 1, mtimeMs: a.mtimeMs });
  });

  it('reports a file written slowly in chunks exactly once, after it stopped growing', async () => {
    const stableMs = 1000;
    await startWatcher([], stableMs);
    const handle = await open(join(root, 'slow.bin'), 'w');
    const chunk = Buffer.alloc(64 * 1024, 7);
    let lastWriteMs = 0;
    try {
      // 8 chunks, 200 ms apart: 1.6 s of writing, longer than stable_ms, never idle that long.
      for (let i = 0; i < 8; i++) {
        await handle.write(chunk);
        await handle.sync();
        lastWriteMs = Date.now();
        await sleep(200);
        expect(reports).toEqual([]);
      }
    } finally {
      await handle.close();
    }
    await until(() => reports.length > 0);
    await sleep(stableMs + 400);
    expect(reports).toHaveLength(1);
    expect(reports[0]).toMatchObject({ path: 'slow.bin', size: 8 * chunk.length });
    // The last write was seen at most a poll after it returned; allow the time sync() took.
    expect(reports[0]!.atMs - lastWriteMs).toBeGreaterThanOrEqual(stableMs - 100);
  });

  it('reports a new version of a file written again later, and nothing after close()', async () => {
    await startWatcher();
    await put('doc.txt', 'first');
    await until(() => reports.length === 1);
    await sleep(50);
    await put('doc.txt', 'second, longer');
    await until(() => reports.length === 2);
    expect(reports.map((r) => [r.path, r.size])).toEqual([
      ['doc.txt', 5],
      ['doc.txt', 14],
    ]);
    // Removed and re-created with other bytes: one more version.
    await unlink(join(root, 'doc.txt'));
    await sleep(100);
    await put('doc.txt', 'third');
    await until(() => reports.length === 3);
    await watcher!.close();
    await put('late.txt', 'after close');
    await sleep(STABLE_MS + 300);
    expect(reports).toHaveLength(3);
  });

  it('does not report a file that is removed before it became stable', async () => {
    await startWatcher();
    await put('brief.txt', 'here for a moment');
    await sleep(100);
    await unlink(join(root, 'brief.txt'));
    await sleep(STABLE_MS + 400);
    expect(reports).toEqual([]);
  });
});
