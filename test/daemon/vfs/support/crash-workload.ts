import { createHash } from 'node:crypto';
import { seededRandom } from '../../../support/random.js';

/**
 * The burst of filesystem operations the crash tests run in a child process
 * (crash-child.ts) and then check on the backend: generated from a seed, so
 * the parent knows every operation without being told. Paths are '/'-joined
 * keys below the disk root.
 */
export type CrashOp =
  | { kind: 'mkdir'; path: string }
  /** Creates or truncates `path` and writes `size` bytes of pattern `seed`, then closes it. */
  | { kind: 'write'; path: string; size: number; seed: number }
  /** Renames a file or a directory (never over an existing name). */
  | { kind: 'rename'; from: string; to: string }
  | { kind: 'unlink'; path: string };

/** What the disk holds after some operations: sha256 of every file, and every directory. */
export interface CrashTree {
  files: Map<string, string>;
  dirs: Set<string>;
}

/** Sizes of the burst: small files, with a few large ones among them. */
export interface WorkloadShape {
  operations: number;
  /** How many of the writes are large (1-2 MiB: many blocks, a long upload). */
  largeWrites: number;
}

/** A small deterministic PRNG (mulberry32): same seed, same sequence. */
export const prng = seededRandom;

/** The content of a write: `size` bytes from `seed`. */
export function contentOf(size: number, seed: number): Buffer {
  const out = Buffer.alloc(size);
  const next = prng(seed);
  for (let i = 0; i < size; i++) out[i] = Math.floor(next() * 256);
  return out;
}

export const sha256 = (data: Buffer): string => createHash('sha256').update(data).digest('hex');

/** Generates a valid burst for `seed`: every rename/unlink names something that exists then. */
export function crashWorkload(seed: number, shape: WorkloadShape): CrashOp[] {
  const random = prng(seed);
  const pick = <T>(items: T[]): T => items[Math.floor(random() * items.length)]!;
  const tree: CrashTree = { files: new Map(), dirs: new Set() };
  const ops: CrashOp[] = [];
  let names = 0;
  let largeLeft = shape.largeWrites;
  const push = (op: CrashOp) => {
    ops.push(op);
    applyOp(tree, op);
  };
  for (const dir of ['a', 'b', 'a/deep']) push({ kind: 'mkdir', path: dir });
  while (ops.length < shape.operations) {
    const roll = random();
    const dirs = ['', ...tree.dirs];
    const files = [...tree.files.keys()];
    const inDir = (dir: string, name: string) => (dir === '' ? name : `${dir}/${name}`);
    if (roll < 0.5 || files.length < 3) {
      const large = largeLeft > 0 && random() < 0.1;
      if (large) largeLeft--;
      const size = large ? 1024 * 1024 + Math.floor(random() * 1024 * 1024) : Math.floor(random() * 40_000);
      push({ kind: 'write', path: inDir(pick(dirs), `f${names++}`), size, seed: Math.floor(random() * 1e9) + 1 });
    } else if (roll < 0.6) {
      push({ kind: 'write', path: pick(files), size: Math.floor(random() * 20_000), seed: Math.floor(random() * 1e9) + 1 });
    } else if (roll < 0.75) {
      push({ kind: 'rename', from: pick(files), to: inDir(pick(dirs), `r${names++}`) });
    } else if (roll < 0.87) {
      push({ kind: 'unlink', path: pick(files) });
    } else if (roll < 0.93) {
      push({ kind: 'mkdir', path: inDir(pick(dirs), `d${names++}`) });
    } else {
      // A directory (never the root) into a directory outside its own subtree.
      const from = pick([...tree.dirs]);
      const targets = dirs.filter((d) => d !== from && !d.startsWith(`${from}/`));
      push({ kind: 'rename', from, to: inDir(pick(targets), `m${names++}`) });
    }
  }
  // Finish with large writes still owed, so every burst has them.
  while (largeLeft-- > 0) push({ kind: 'write', path: `big${names++}`, size: 1024 * 1024 + Math.floor(random() * 1024 * 1024), seed: Math.floor(random() * 1e9) + 1 });
  return ops;
}

/** Applies one operation to a tree (in place). */
export function applyOp(tree: CrashTree, op: CrashOp): void {
  switch (op.kind) {
    case 'mkdir':
      tree.dirs.add(op.path);
      return;
    case 'write':
      tree.files.set(op.path, sha256(contentOf(op.size, op.seed)));
      return;
    case 'unlink':
      tree.files.delete(op.path);
      return;
    case 'rename': {
      if (tree.files.has(op.from)) {
        tree.files.set(op.to, tree.files.get(op.from)!);
        tree.files.delete(op.from);
        return;
      }
      const moved = (path: string) => (path === op.from ? op.to : path.startsWith(`${op.from}/`) ? op.to + path.slice(op.from.length) : path);
      tree.dirs = new Set([...tree.dirs].map(moved));
      tree.files = new Map([...tree.files].map(([path, hash]) => [moved(path), hash]));
      return;
    }
  }
}

/** The tree after the first `count` operations. */
export function treeAfter(ops: CrashOp[], count: number): CrashTree {
  const tree: CrashTree = { files: new Map(), dirs: new Set() };
  for (const op of ops.slice(0, count)) applyOp(tree, op);
  return tree;
}

/** The same tree in a comparable form: sorted 'path sha' lines and 'dir/' lines (with every ancestor of a file). */
export function treeLines(tree: CrashTree, ignore?: string): string[] {
  const dirs = new Set(tree.dirs);
  for (const path of tree.files.keys()) {
    const parts = path.split('/');
    for (let i = 1; i < parts.length; i++) dirs.add(parts.slice(0, i).join('/'));
  }
  const lines = [...[...tree.files].map(([path, hash]) => `${path} ${hash}`), ...[...dirs].map((dir) => `${dir}/`)];
  return lines.filter((line) => ignore === undefined || !(line.startsWith(`${ignore} `) || line === `${ignore}/`)).sort();
}
