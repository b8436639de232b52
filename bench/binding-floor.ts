/**
 * The ceiling the FUSE binding itself puts on the mount benchmark: a file
 * system served by the same patched fuse-native, with the same mount
 * options as `storaged mount`, whose handlers do no work at all (a write
 * is answered at once and its bytes dropped, files exist only as names in
 * a Map). Runs the write and create workloads of bench/run.ts against it:
 * no storaged can be faster than this through this binding, so it says
 * which targets need the data path moved out of JavaScript.
 *
 *   node --import tsx bench/binding-floor.ts [--size 256MiB] [--files 500] [--runs 5]
 *
 * Needs root (or user_allow_other) and /dev/fuse, like the mount bench.
 */
import { createRequire } from 'node:module';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { parseSize } from '../src/core/config/size.js';
import { asFuseNativeOptions, mountOptions } from '../src/fuse/mount-options.js';
import { run } from './lib/proc.js';
import { ensureSourceFile } from './lib/source.js';

const require = createRequire(import.meta.url);
/** fuse-native, as src/fuse/native.ts loads it (the patched build npm install made). */
const Fuse = require('fuse-native') as {
  new (mnt: string, ops: object, options: object): { mount(cb: (err: Error | null) => void): void; unmount(cb: (err: Error | null) => void): void };
};

type Reply = (code: number, ...values: unknown[]) => void;
const ENOENT = -2;
const ENODATA = -61;

/** Handlers that keep names and sizes only: every request is answered from a Map at once. */
function noWorkOps(): object {
  const now = new Date();
  const files = new Map<string, number>();
  const dirs = new Set<string>(['/']);
  const stat = (ino: number, mode: number, size: number) => ({
    mtime: now, atime: now, ctime: now, nlink: 1, size, mode, uid: 0, gid: 0, dev: 0, ino, rdev: 0, blksize: 4096, blocks: Math.ceil(size / 512),
  });
  const attrs = (path: string, cb: Reply) => {
    if (dirs.has(path)) return cb(0, stat(1, 0o40755, 0));
    const size = files.get(path);
    return size === undefined ? cb(ENOENT) : cb(0, stat(2, 0o100644, size));
  };
  return {
    init: (cb: Reply) => cb(0),
    access: (_p: string, _m: number, cb: Reply) => cb(0),
    getattr: attrs,
    fgetattr: (path: string, _fh: number, cb: Reply) => attrs(path, cb),
    readdir: (path: string, cb: Reply) => cb(0, ['.', '..', ...[...files.keys(), ...dirs].filter((p) => p !== '/' && p.slice(0, p.lastIndexOf('/') || 1) === path).map((p) => p.slice(p.lastIndexOf('/') + 1))]),
    mkdir: (path: string, _mode: number, cb: Reply) => (dirs.add(path), cb(0)),
    create: (path: string, _mode: number, cb: Reply) => (files.set(path, 0), cb(0, 1)),
    open: (_path: string, _flags: number, cb: Reply) => cb(0, 1),
    write: (path: string, _fh: number, _buf: Buffer, length: number, position: number, cb: Reply) => {
      files.set(path, Math.max(files.get(path) ?? 0, position + length));
      cb(length);
    },
    truncate: (path: string, size: number, cb: Reply) => (files.set(path, size), cb(0)),
    ftruncate: (path: string, _fh: number, size: number, cb: Reply) => (files.set(path, size), cb(0)),
    flush: (_p: string, _fh: number, cb: Reply) => cb(0),
    fsync: (_p: string, _d: number, _fh: number, cb: Reply) => cb(0),
    release: (_p: string, _fh: number, cb: Reply) => cb(0),
    utimens: (_p: string, _a: unknown, _m: unknown, cb: Reply) => cb(0),
    chmod: (_p: string, _m: number, cb: Reply) => cb(0),
    chown: (_p: string, _u: number, _g: number, cb: Reply) => cb(0),
    getxattr: (_p: string, _n: string, _pos: number, cb: Reply) => cb(ENODATA),
    listxattr: (_p: string, cb: Reply) => cb(0, []),
  };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

const { values } = parseArgs({ options: { size: { type: 'string', default: '256MiB' }, files: { type: 'string', default: '500' }, runs: { type: 'string', default: '5' } } });
const size = parseSize(values.size!);
const fileCount = Number(values.files);
const runs = Number(values.runs);
const source = await ensureSourceFile(size);
const work = await mkdtemp(join(tmpdir(), 'storaged-floor-'));
const options = mountOptions({ fsName: 'storaged:floor', attrTimeout: 1, entryTimeout: 1, allowOther: true });
const fuse = new Fuse(work, noWorkOps(), { ...asFuseNativeOptions(options), timeout: false });
await new Promise<void>((done, fail) => fuse.mount((err) => (err ? fail(err) : done())));
try {
  const writes: number[] = [];
  const creates: number[] = [];
  for (let i = 0; i < runs; i++) {
    // Spawned, never run synchronously: this process serves the mount.
    const { ms } = await run('dd', [`if=${source.path}`, `of=${join(work, `seq-${i}.bin`)}`, 'bs=1M']);
    writes.push(size / ms / 1000);
    const { stdout } = await run(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'children/create-files.ts'), join(work, `files-${i}`), String(fileCount), '4096'], { captureStdout: true });
    creates.push(fileCount / (JSON.parse(stdout) as { ms: number }).ms * 1000);
  }
  const fmt = (list: number[]) => list.map((v) => v.toFixed(0)).join(', ');
  process.stdout.write(
    `binding floor (${new Date().toISOString()}, ${runs} runs, medians; options: ${options.join(',')})\n\n` +
      `| workload | unit | no-work file system |\n|---|---|---:|\n` +
      `| sequential write of ${values.size}, close included | MB/s | ${median(writes).toFixed(0)} |\n` +
      `| create ${fileCount} files of 4 KiB, one process | files/s | ${median(creates).toFixed(0)} |\n\n` +
      `runs: write ${fmt(writes)} MB/s; create ${fmt(creates)} files/s\n`,
  );
} finally {
  await new Promise<void>((done) => fuse.unmount(() => done()));
  await rm(work, { recursive: true, force: true });
}
