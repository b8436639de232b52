import { afterEach, describe, expect, it } from 'vitest';
import { MemoryDriver } from '../../../src/drivers/memory/driver.js';
import { ROOT_INO, type ObservedFile, type UploadObserver } from '../../../src/daemon/vfs/types.js';
import { openHarness, readObject, resolve, writeFile, type Harness } from './support.js';

/**
 * The VFS's side of drop folders (issue 6): an UploadObserver is told of
 * closes and holds uploads back until it releases them, across a restart.
 */

const harnesses: Harness[] = [];
afterEach(async () => {
  while (harnesses.length > 0) await harnesses.pop()!.close();
});

/** Holds every path under `inbox/` until released; records what it was told. */
class InboxHolder implements UploadObserver {
  readonly closes: ObservedFile[] = [];
  readonly released = new Set<string>();
  closed(file: ObservedFile): void {
    this.closes.push(file);
  }
  holds(file: ObservedFile): boolean {
    return file.path.startsWith('inbox/') && !this.released.has(file.path);
  }
}

async function keys(backend: MemoryDriver): Promise<string[]> {
  return (await backend.list('', { recursive: true })).entries.filter((e) => e.type === 'file').map((e) => e.path).sort();
}

describe('upload observer', () => {
  it('is told of each close of a changed file with its path, size and mtime', async () => {
    const observer = new InboxHolder();
    const h = await openHarness(new MemoryDriver(), { writeBack: { delay: 30 }, uploads: observer });
    harnesses.push(h);
    const before = Date.now();
    const attr = await writeFile(h.vfs, ROOT_INO, 'report.pdf', 'twelve bytes');
    expect(observer.closes).toHaveLength(1);
    expect(observer.closes[0]).toMatchObject({ ino: attr.ino, path: 'report.pdf', size: 12 });
    expect(observer.closes[0]!.mtimeMs).toBeGreaterThanOrEqual(before - 1000);
  });

  it('holds an upload (sync leaves it journaled, status lists it) until releaseUpload, across a restart', async () => {
    const backend = new MemoryDriver();
    const observer = new InboxHolder();
    const h = await openHarness(backend, { writeBack: { delay: 30 }, uploads: observer });
    harnesses.push(h);
    const inbox = await h.vfs.mkdir(ROOT_INO, 'inbox', 0o755, { uid: 0, gid: 0, pid: 1 });
    await writeFile(h.vfs, inbox.ino, 'scan.pdf', 'not scanned yet');
    await writeFile(h.vfs, ROOT_INO, 'free.txt', 'goes at once');
    await h.vfs.sync();
    expect(await keys(backend)).toEqual(['free.txt']);
    expect(h.vfs.status().held).toEqual(['inbox/scan.pdf']);
    expect(h.vfs.status().pending).toMatchObject({ uploads: 1 });

    // A restart resumes the journal: the observer is asked again and still holds it.
    const vfs = await h.remount();
    await vfs.sync();
    expect(await keys(backend)).toEqual(['free.txt']);
    expect(vfs.status().held).toEqual(['inbox/scan.pdf']);

    observer.released.add('inbox/scan.pdf');
    vfs.releaseUpload((await resolve(vfs, 'inbox/scan.pdf')).ino);
    await vfs.sync();
    expect(await keys(backend)).toEqual(['free.txt', 'inbox/scan.pdf']);
    expect((await readObject(backend, 'inbox/scan.pdf')).toString()).toBe('not scanned yet');
    expect(vfs.status().held).toEqual([]);
    expect(vfs.status().pending).toMatchObject({ operations: 0, uploads: 0 });
  });

  it('a held file that is removed never reaches the backend', async () => {
    const backend = new MemoryDriver();
    const observer = new InboxHolder();
    const h = await openHarness(backend, { writeBack: { delay: 30 }, uploads: observer });
    harnesses.push(h);
    const inbox = await h.vfs.mkdir(ROOT_INO, 'inbox', 0o755, { uid: 0, gid: 0, pid: 1 });
    await writeFile(h.vfs, inbox.ino, 'eicar.com', 'infected, say');
    await h.vfs.sync();
    await h.vfs.unlink(inbox.ino, 'eicar.com');
    await h.vfs.sync();
    expect(await keys(backend)).toEqual([]);
    expect(h.vfs.status().held).toEqual([]);
    expect(h.vfs.status().pending.operations).toBe(0);
  });
});
