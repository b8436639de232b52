import { constants } from 'node:fs';
import * as fsp from 'node:fs/promises';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pattern } from './suite/context.js';
import { FsModel } from './support/fs-model.js';
import { mountedTarget } from './support/mounted-target.js';
import type { Target } from './support/target.js';

/**
 * Model-based test: random sequences of write-at-offset, truncate, rename,
 * unlink, mkdir, rmdir and read over a small namespace, run against a real
 * mount (storaged mount of a local and an s3 disk, in a child process) and against
 * FsModel. Every command must fail with the model's errno or succeed like it;
 * after each command the touched paths are compared byte for byte, and at the
 * end the whole tree. Replay a failure with STORAGED_MODEL_SEED (and
 * STORAGED_MODEL_PATH) from the printed report.
 */
type Op =
  | { op: 'write'; path: string; offset: number; length: number; seed: number }
  | { op: 'truncate'; path: string; length: number }
  | { op: 'read'; path: string; offset: number; length: number }
  | { op: 'rename'; from: string; to: string }
  | { op: 'unlink'; path: string }
  | { op: 'mkdir'; path: string }
  | { op: 'rmdir'; path: string };

const NAMES = ['a', 'b', 'c'];
const pathArb = fc.oneof(fc.constantFrom(...NAMES), fc.tuple(fc.constantFrom(...NAMES), fc.constantFrom(...NAMES)).map(([x, y]) => `${x}/${y}`));
/** Offsets and lengths around the 64 KiB block size, biased small. */
const sizeArb = fc.oneof(fc.integer({ min: 0, max: 300 }), fc.integer({ min: 65_000, max: 66_100 }), fc.integer({ min: 0, max: 140_000 }));

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ op: fc.constant('write' as const), path: pathArb, offset: sizeArb, length: fc.integer({ min: 1, max: 70_000 }), seed: fc.integer({ min: 1, max: 1e6 }) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('truncate' as const), path: pathArb, length: sizeArb }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('read' as const), path: pathArb, offset: sizeArb, length: fc.integer({ min: 1, max: 140_000 }) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('rename' as const), from: pathArb, to: pathArb }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('unlink' as const), path: pathArb }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('mkdir' as const), path: pathArb }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('rmdir' as const), path: pathArb }) },
);

/** Runs `action`; its errno name, or null when it succeeded. */
async function errnoOf(action: () => Promise<unknown>): Promise<string | null> {
  try {
    await action();
    return null;
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (typeof code !== 'string') throw err;
    return code;
  }
}

/** Applies one op to the mount (under `root`) and the model; asserts that both agree. */
async function apply(root: string, model: FsModel, op: Op): Promise<void> {
  const at = (p: string) => join(root, p);
  const label = JSON.stringify(op);
  switch (op.op) {
    case 'write': {
      const data = pattern(op.length, op.seed);
      const actual = await errnoOf(async () => {
        const h = await fsp.open(at(op.path), constants.O_WRONLY | constants.O_CREAT, 0o644);
        try {
          await h.write(data, 0, data.length, op.offset);
        } finally {
          await h.close();
        }
      });
      expect(actual, label).toBe(model.write(op.path, op.offset, data));
      return;
    }
    case 'truncate':
      expect(await errnoOf(() => fsp.truncate(at(op.path), op.length)), label).toBe(model.truncate(op.path, op.length));
      return;
    case 'read': {
      const expected = model.read(op.path, op.offset, op.length);
      let got: Buffer | string;
      try {
        const h = await fsp.open(at(op.path), 'r');
        try {
          const buffer = Buffer.alloc(op.length);
          let total = 0;
          while (total < op.length) {
            const { bytesRead } = await h.read(buffer, total, op.length - total, op.offset + total);
            if (bytesRead === 0) break;
            total += bytesRead;
          }
          got = buffer.subarray(0, total);
        } finally {
          await h.close();
        }
      } catch (err) {
        got = (err as { code?: string }).code ?? String(err);
      }
      if (typeof expected === 'string' || typeof got === 'string') expect(got, label).toEqual(expected);
      else expect(got.equals(expected), `${label}: ${got.length} bytes read, ${expected.length} expected`).toBe(true);
      return;
    }
    case 'rename':
      expect(await errnoOf(() => fsp.rename(at(op.from), at(op.to))), label).toBe(model.rename(op.from, op.to));
      return;
    case 'unlink':
      expect(await errnoOf(() => fsp.unlink(at(op.path))), label).toBe(model.unlink(op.path));
      return;
    case 'mkdir':
      expect(await errnoOf(() => fsp.mkdir(at(op.path))), label).toBe(model.mkdir(op.path));
      return;
    case 'rmdir':
      expect(await errnoOf(() => fsp.rmdir(at(op.path))), label).toBe(model.rmdir(op.path));
      return;
  }
}

/** Compares one path of the mount with the model (content, listing, or absence). */
async function compare(root: string, model: FsModel, path: string, context: string): Promise<void> {
  const node = model.get(path);
  const at = join(root, path);
  if (node === undefined) {
    expect(await errnoOf(() => fsp.lstat(at)), `${context}: ${path} should not exist`).toMatch(/^(ENOENT|ENOTDIR)$/);
  } else if (node.type === 'dir') {
    expect((await fsp.readdir(at)).sort(), `${context}: listing of ${path || '/'}`).toEqual(model.children(path));
  } else {
    const content = await fsp.readFile(at);
    expect(content.length, `${context}: size of ${path}`).toBe(node.data.length);
    expect(content.equals(node.data), `${context}: bytes of ${path}`).toBe(true);
  }
}

const touched = (op: Op): string[] => (op.op === 'rename' ? [op.from, op.to, FsModel.parent(op.from), FsModel.parent(op.to)] : [op.path, FsModel.parent(op.path)]);

/** A finished run: its folder and the model it must still match. */
interface FinishedRun {
  root: string;
  model: FsModel;
}

/** Compares every path of a finished run (after a remount, say). */
async function compareRun(run: FinishedRun, context: string): Promise<void> {
  for (const p of ['', ...run.model.paths()]) await compare(run.root, run.model, p, `${context} (${run.root})`);
}

/**
 * Runs the property (50 runs by default, up to 30 commands) with a fresh
 * folder from `newRoot` per run; resolves to the finished runs.
 */
async function checkModel(newRoot: () => Promise<string>): Promise<FinishedRun[]> {
  const finished: FinishedRun[] = [];
  const seed = process.env.STORAGED_MODEL_SEED ? Number(process.env.STORAGED_MODEL_SEED) : undefined;
  const path = process.env.STORAGED_MODEL_PATH;
  const property = fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 30 }), async (ops) => {
    const root = await newRoot();
    const model = new FsModel();
    for (const [i, op] of ops.entries()) {
      await apply(root, model, op);
      for (const p of touched(op)) await compare(root, model, p, `after command ${i + 1}`);
    }
    await compareRun({ root, model }, 'final tree');
    finished.push({ root, model });
  });
  const details = await fc.check(property, {
    numRuns: Number(process.env.STORAGED_MODEL_RUNS ?? 50),
    ...(seed !== undefined ? { seed } : {}),
    ...(path !== undefined ? { path } : {}),
    interruptAfterTimeLimit: 300_000,
    markInterruptAsFailure: true,
  });
  if (details.failed) console.error(`model test failed: STORAGED_MODEL_SEED=${details.seed} STORAGED_MODEL_PATH=${details.counterexamplePath ?? ''}`);
  expect(details.failed, fc.defaultReportMessage(details) ?? '').toBe(false);
  return finished;
}

let runs = 0;
const scratch = await mkdtemp(join(tmpdir(), 'storaged-model-'));
afterAll(() => rm(scratch, { recursive: true, force: true }));

describe('model-based: random operation sequences match an in-memory model', () => {
  it('calibration: the model agrees with the kernel on a plain local folder', { timeout: 120_000 }, async () => {
    await checkModel(async () => {
      const root = join(scratch, `run-${++runs}`);
      await mkdir(root);
      return root;
    });
  });

  describe.each(['local', 's3'] as const)('on a storaged mount of a %s disk', (kind) => {
    let target: Target | undefined;
    beforeAll(async () => {
      target = await mountedTarget(kind);
    }, 120_000);
    afterAll(async () => {
      await target?.close();
    }, 120_000);

    it('50 runs of up to 30 commands; every tree survives a remount and a cold-cache remount', { timeout: 400_000 }, async () => {
      const mountpoint = target!.mountpoint!;
      const finished = await checkModel(async () => {
        const root = join(mountpoint, `run-${++runs}`);
        await fsp.mkdir(root);
        return root;
      });
      await target!.remount();
      for (const run of finished) await compareRun(run, 'after remount');
      await target!.remount({ coldCache: true });
      for (const run of finished) await compareRun(run, 'after a remount with an empty cache');
    });
  });
});
