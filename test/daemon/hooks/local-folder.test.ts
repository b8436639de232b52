import { randomBytes } from 'node:crypto';
import { chmod, link, mkdir, mkdtemp, readFile, readdir, rm, stat, symlink, utimes, writeFile, copyFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { FsError } from '../../../src/core/errors.js';
import { LocalDropFolder } from '../../../src/daemon/hooks/local-folder.js';

let base: string;
let root: string;
let folder: LocalDropFolder;
let caseNo = 0;
/** A fresh set-aside destination per test. */
let into: string;
/** A folder on another file system (tmpfs at /dev/shm) for the EXDEV case, when there is one. */
let otherFs: string | undefined;

beforeAll(async () => {
  base = await mkdtemp(join(tmpdir(), 'storaged-local-folder-'));
  root = join(base, 'drop');
  await mkdir(root);
  folder = new LocalDropFolder('drop', root);
  otherFs = await crossDeviceFolder(base);
});

afterAll(async () => {
  if (base) await rm(base, { recursive: true, force: true });
  if (otherFs) await rm(otherFs, { recursive: true, force: true });
});

beforeEach(() => {
  caseNo += 1;
  into = join(base, `aside-${caseNo}`);
});

/** A temp folder on a device other than `near`'s, or undefined (no tmpfs mounted, nor mountable). */
async function crossDeviceFolder(near: string): Promise<string | undefined> {
  try {
    const candidate = await mkdtemp('/dev/shm/storaged-local-folder-');
    if ((await stat(candidate)).dev !== (await stat(near)).dev) return candidate;
    await rm(candidate, { recursive: true, force: true });
  } catch {
    // no /dev/shm here
  }
  return undefined;
}

async function put(path: string, bytes: Uint8Array | string): Promise<string> {
  const full = join(root, path);
  await mkdir(dirname(full), { recursive: true });
  await writeFile(full, bytes);
  return full;
}

async function drain(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

async function codeOf(promise: Promise<unknown>): Promise<string> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(FsError);
  return (err as FsError).code;
}

async function missing(path: string): Promise<boolean> {
  return stat(path).then(
    () => false,
    (err: NodeJS.ErrnoException) => err.code === 'ENOENT',
  );
}

async function hiddenTemporaries(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((name) => name.endsWith('.tmp'));
}

describe('LocalDropFolder paths', () => {
  it('refuses absolute paths and paths with .. with EINVAL, before any I/O', async () => {
    await put('inside.txt', 'x');
    for (const bad of ['/etc/passwd', '../outside.txt', 'a/../../outside.txt', 'a/../inside.txt', '', 'x\0y']) {
      expect(await codeOf(folder.stat(bad))).toBe('EINVAL');
      expect(await codeOf(folder.read(bad))).toBe('EINVAL');
      expect(await codeOf(folder.remove(bad))).toBe('EINVAL');
      expect(await codeOf(folder.writeDerived(bad, join(root, 'inside.txt')))).toBe('EINVAL');
      expect(await codeOf(folder.setAside(bad, into))).toBe('EINVAL');
    }
    expect(await readFile(join(root, 'inside.txt'), 'utf8')).toBe('x');
    expect(() => new LocalDropFolder('x', 'relative/root')).toThrow(FsError);
  });
});

describe('LocalDropFolder stat and read', () => {
  it('stats a file (size, mtime), undefined when gone or a symlink, EISDIR for a folder', async () => {
    const full = await put('s/a.bin', randomBytes(1234));
    const info = await stat(full);
    expect(await folder.stat('s/a.bin')).toEqual({ path: 's/a.bin', size: 1234, mtimeMs: info.mtimeMs });
    expect(await folder.stat('s/none.bin')).toBeUndefined();
    expect(await folder.stat('s/a.bin/deeper')).toBeUndefined();
    await symlink(full, join(root, 's/link.bin'));
    expect(await folder.stat('s/link.bin')).toBeUndefined();
    expect(await codeOf(folder.stat('s'))).toBe('EISDIR');
  });

  it('streams the bytes; ENOENT when gone, ELOOP for a symlink', async () => {
    const bytes = randomBytes(200_000);
    await put('r/a.bin', bytes);
    expect((await drain(await folder.read('r/a.bin'))).equals(bytes)).toBe(true);
    expect(await codeOf(folder.read('r/none.bin'))).toBe('ENOENT');
    await symlink(join(root, 'r/a.bin'), join(root, 'r/link.bin'));
    expect(await codeOf(folder.read('r/link.bin'))).toBe('ELOOP');
    expect(await codeOf(folder.read('r'))).toBe('EISDIR');
  });
});

describe('LocalDropFolder replace, writeDerived, remove, release', () => {
  it('replaces content keeping the mode, leaves no temporary file, is idempotent, ENOENT when gone', async () => {
    const full = await put('p/a.txt', 'old content');
    await chmod(full, 0o640);
    const source = join(base, 'new.txt');
    await writeFile(source, 'new content, longer');
    await folder.replace('p/a.txt', source);
    await folder.replace('p/a.txt', source);
    expect(await readFile(full, 'utf8')).toBe('new content, longer');
    expect((await stat(full)).mode & 0o777).toBe(0o640);
    expect(await hiddenTemporaries(join(root, 'p'))).toEqual([]);
    expect(await codeOf(folder.replace('p/gone.txt', source))).toBe('ENOENT');
    expect(await missing(join(root, 'p/gone.txt'))).toBe(true);
  });

  it('writeDerived creates folders and replaces what is there', async () => {
    const source = join(base, 'thumb.bin');
    await writeFile(source, randomBytes(500));
    await folder.writeDerived('thumbs/2026/x.150x150.webp', source);
    await writeFile(source, 'second');
    await folder.writeDerived('thumbs/2026/x.150x150.webp', source);
    expect(await readFile(join(root, 'thumbs/2026/x.150x150.webp'), 'utf8')).toBe('second');
    expect(await hiddenTemporaries(join(root, 'thumbs/2026'))).toEqual([]);
  });

  it('recognises the versions it wrote itself (isOwnVersion), not a later change', async () => {
    await put('own/a.txt', 'arrived');
    expect(folder.isOwnVersion((await folder.stat('own/a.txt'))!)).toBe(false);
    const source = join(base, 'own.txt');
    await writeFile(source, 'processed');
    await folder.replace('own/a.txt', source);
    await folder.writeDerived('own/derived/a.txt', source);
    expect(folder.isOwnVersion((await folder.stat('own/a.txt'))!)).toBe(true);
    expect(folder.isOwnVersion((await folder.stat('own/derived/a.txt'))!)).toBe(true);
    await put('own/a.txt', 'changed by a user');
    expect(folder.isOwnVersion((await folder.stat('own/a.txt'))!)).toBe(false);
  });

  it('remove deletes the file, and a missing file is fine; release does nothing', async () => {
    const full = await put('rm/a.txt', 'x');
    await folder.remove('rm/a.txt');
    expect(await missing(full)).toBe(true);
    await folder.remove('rm/a.txt');
    await put('rm/b.txt', 'y');
    await folder.release('rm/b.txt');
    expect(await readFile(join(root, 'rm/b.txt'), 'utf8')).toBe('y');
  });
});

describe('LocalDropFolder setAside', () => {
  it('moves the file under its relative path, content and mtime intact', async () => {
    const bytes = randomBytes(4096);
    const full = await put('in/2026/scan.pdf', bytes);
    const mtime = new Date('2024-01-02T03:04:05Z');
    await utimes(full, mtime, mtime);
    const where = await folder.setAside('in/2026/scan.pdf', into);
    expect(where).toBe(join(into, 'in/2026/scan.pdf'));
    expect((await readFile(where)).equals(bytes)).toBe(true);
    expect((await stat(where)).mtimeMs).toBe(mtime.getTime());
    expect(await missing(full)).toBe(true);
  });

  it('chooses "name (2).ext" when the name is taken, never overwriting', async () => {
    await put('dup/photo.jpg', 'first');
    const first = await folder.setAside('dup/photo.jpg', into);
    await put('dup/photo.jpg', 'second');
    const second = await folder.setAside('dup/photo.jpg', into);
    await put('dup/photo.jpg', 'third');
    const third = await folder.setAside('dup/photo.jpg', into);
    expect([first, second, third]).toEqual([join(into, 'dup/photo.jpg'), join(into, 'dup/photo (2).jpg'), join(into, 'dup/photo (3).jpg')]);
    expect(await Promise.all([first, second, third].map((p) => readFile(p, 'utf8')))).toEqual(['first', 'second', 'third']);
    await put('dup/README', 'no extension');
    await mkdir(join(into, 'dup'), { recursive: true });
    await writeFile(join(into, 'dup/README'), 'someone else');
    expect(await folder.setAside('dup/README', into)).toBe(join(into, 'dup/README (2)'));
  });

  it('is idempotent: repeated after the move it resolves to the same place; ENOENT with no earlier move', async () => {
    await put('idem/a.txt', 'content');
    const where = await folder.setAside('idem/a.txt', into);
    expect(await folder.setAside('idem/a.txt', into)).toBe(where);
    expect(await folder.setAside('idem/a.txt', into)).toBe(where);
    expect(await readFile(where, 'utf8')).toBe('content');
    expect(await readdir(join(into, 'idem'))).toEqual(['a.txt']);
    expect(await codeOf(folder.setAside('idem/never.txt', into))).toBe('ENOENT');
  });

  it('finishes a move a crash interrupted between the link and the unlink, without a second copy', async () => {
    const full = await put('crash/a.txt', 'content');
    const where = await folder.setAside('crash/a.txt', into);
    await link(where, full); // the state a crash after link(), before unlink(), leaves
    expect(await folder.setAside('crash/a.txt', into)).toBe(where);
    expect(await missing(full)).toBe(true);
    expect(await readdir(join(into, 'crash'))).toEqual(['a.txt']);
  });

  it('copies across file systems (EXDEV): durable copy, mtime kept, original removed, idempotent', async (context) => {
    if (otherFs === undefined) {
      context.skip(); // no second file system (tmpfs) on this machine
      return;
    }
    const away = join(otherFs, `aside-${caseNo}`);
    const bytes = randomBytes(300_000);
    const full = await put('xdev/big.bin', bytes);
    const mtime = new Date('2023-06-07T08:09:10Z');
    await utimes(full, mtime, mtime);
    const where = await folder.setAside('xdev/big.bin', away);
    expect(where).toBe(join(away, 'xdev/big.bin'));
    expect((await readFile(where)).equals(bytes)).toBe(true);
    expect((await stat(where)).mtimeMs).toBe(mtime.getTime());
    expect(await missing(full)).toBe(true);
    expect(await hiddenTemporaries(join(away, 'xdev'))).toEqual([]);
    // A crash after the copy, before the unlink: the original is still there; the re-run only unlinks.
    await copyFile(where, full);
    await utimes(full, mtime, mtime);
    expect(await folder.setAside('xdev/big.bin', away)).toBe(where);
    expect(await missing(full)).toBe(true);
    expect(await readdir(join(away, 'xdev'))).toEqual(['big.bin']);
    // A different file of the same name is a new arrival: it gets a free name.
    await put('xdev/big.bin', 'other bytes');
    expect(await folder.setAside('xdev/big.bin', away)).toBe(join(away, 'xdev/big (2).bin'));
  });
});
