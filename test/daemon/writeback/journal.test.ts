import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openDatabase, type Database } from '../../../src/daemon/db.js';
import { openJournal } from '../../../src/daemon/writeback/journal.js';
import type { JournalOp } from '../../../src/daemon/writeback/types.js';

describe('openJournal', () => {
  let dir: string;
  let file: string;
  let db: Database;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'storaged-journal-'));
    file = join(dir, 'meta.db');
    db = openDatabase(file);
  });

  afterEach(async () => {
    if (db.open) db.close();
    await rm(dir, { recursive: true, force: true });
  });

  const ops: JournalOp[] = [
    { kind: 'mkdir', ino: 2, key: 'docs/' },
    { kind: 'upload', ino: 3 },
    { kind: 'symlink', ino: 4, key: 'docs/link' },
    { kind: 'rename-file', ino: 3, from: 'docs/a.txt', to: 'docs/b.txt', replaced: true },
    { kind: 'rename-dir', ino: 2, from: 'docs/', to: 'papers/' },
    { kind: 'link', ino: 3, from: 'papers/b.txt', to: 'papers/c.txt' },
    { kind: 'unlink', ino: 4, key: 'papers/link' },
    { kind: 'rmdir', ino: 5, key: 'old/' },
  ];

  it('records ops in sequence order and keeps them, with their failures, across a reopen', () => {
    let clock = 1_000;
    const journal = openJournal(db, { now: () => clock });
    const seqs = ops.map((op) => {
      clock += 1;
      return journal.add(op);
    });
    expect([...seqs].sort((a, b) => a - b)).toEqual(seqs);
    expect(new Set(seqs).size).toBe(ops.length);
    clock = 5_000;
    journal.recordFailure(seqs[1]!, { code: 'EIO', message: 'first failure' });
    clock = 6_000;
    journal.recordFailure(seqs[1]!, { code: 'ETIMEDOUT', message: 'second failure' });
    db.close();

    db = openDatabase(file);
    const again = openJournal(db);
    const listed = again.list();
    expect(listed.map((entry) => entry.op)).toEqual(ops);
    expect(listed.map((entry) => entry.seq)).toEqual(seqs);
    expect(listed.map((entry) => entry.createdMs)).toEqual(ops.map((_, index) => 1_001 + index));
    expect(listed[1]).toMatchObject({ attempts: 2, lastError: { code: 'ETIMEDOUT', message: 'second failure', atMs: 6_000 } });
    expect(listed[0]!.attempts).toBe(0);
    expect(listed[0]!.lastError).toBeUndefined();
    expect(again.count()).toBe(ops.length);
    const version = db.prepare<number>("SELECT version FROM schema_versions WHERE module = 'writeback'").pluck().get();
    expect(version).toBe(1);
  });

  it('keeps one upload row per inode, and its seq', () => {
    const journal = openJournal(db);
    const first = journal.add({ kind: 'upload', ino: 7 });
    journal.add({ kind: 'unlink', ino: 7, key: 'a' });
    expect(journal.add({ kind: 'upload', ino: 7 })).toBe(first);
    expect(journal.add({ kind: 'upload', ino: 8 })).not.toBe(first);
    expect(journal.count()).toBe(3);
    expect(journal.uploadOf(7)).toMatchObject({ seq: first, op: { kind: 'upload', ino: 7 }, attempts: 0 });
    expect(journal.uploadOf(9)).toBeUndefined();

    journal.recordFailure(first, { code: 'EIO', message: 'backend down' });
    expect(journal.uploadOf(7)).toMatchObject({ attempts: 1, lastError: { code: 'EIO', message: 'backend down' } });

    journal.removeUpload(7);
    expect(journal.uploadOf(7)).toBeUndefined();
    expect(journal.list().map((entry) => entry.op.kind)).toEqual(['unlink', 'upload']);
    // A new upload row gets a new seq, never a reused one.
    const second = journal.add({ kind: 'upload', ino: 7 });
    expect(second).toBeGreaterThan(first);
    journal.removeUpload(12345);
    expect(journal.count()).toBe(3);
  });

  it('removes rows by seq; an unknown seq is a no-op', () => {
    const journal = openJournal(db);
    const a = journal.add({ kind: 'mkdir', ino: 2, key: 'a/' });
    const b = journal.add({ kind: 'mkdir', ino: 3, key: 'b/' });
    journal.remove(a);
    journal.remove(a);
    journal.remove(99_999);
    expect(journal.list().map((entry) => entry.seq)).toEqual([b]);
    // Seqs keep growing after deletes (AUTOINCREMENT): replay order stays recording order.
    journal.remove(b);
    expect(journal.add({ kind: 'mkdir', ino: 4, key: 'c/' })).toBeGreaterThan(b);
  });

  it("joins the caller's transaction: a rollback drops the row, a commit keeps it", () => {
    const journal = openJournal(db);
    const failing = db.transaction(() => {
      journal.add({ kind: 'upload', ino: 10 });
      throw new Error('the VFS call failed');
    });
    expect(() => failing()).toThrow('the VFS call failed');
    expect(journal.count()).toBe(0);
    const seq = db.transaction(() => journal.add({ kind: 'upload', ino: 10 }))();
    expect(journal.uploadOf(10)?.seq).toBe(seq);
  });

  it('rejects invalid ops with EINVAL and stores only the fields of an op', () => {
    const journal = openJournal(db);
    const bad: unknown[] = [
      null,
      { kind: 'format-disk', ino: 1 },
      { kind: 'upload', ino: -1 },
      { kind: 'upload', ino: 1.5 },
      { kind: 'upload', ino: '1' },
      { kind: 'mkdir', ino: 1 },
      { kind: 'rename-file', ino: 1, from: 'a', to: 'b' },
      { kind: 'link', ino: 1, from: 'a', to: 3 },
    ];
    for (const op of bad) {
      expect(() => journal.add(op as JournalOp), JSON.stringify(op)).toThrow(expect.objectContaining({ code: 'EINVAL' }));
    }
    expect(journal.count()).toBe(0);
    journal.add({ kind: 'unlink', ino: 1, key: 'x', extra: 'dropped' } as JournalOp);
    expect(journal.list()[0]!.op).toEqual({ kind: 'unlink', ino: 1, key: 'x' });
  });

  it('skips unreadable rows in list(), reports each once, and never loses an upload row', () => {
    const warnings: object[] = [];
    const journal = openJournal(db, { logger: { warn: (details) => warnings.push(details) } });
    const upload = journal.add({ kind: 'upload', ino: 3 });
    const broken = journal.add({ kind: 'mkdir', ino: 4, key: 'a/' });
    const mismatched = journal.add({ kind: 'unlink', ino: 5, key: 'b' });
    const good = journal.add({ kind: 'rmdir', ino: 6, key: 'c/' });
    db.prepare('UPDATE journal SET op = ? WHERE seq IN (?, ?)').run('{not json', upload, broken);
    db.prepare('UPDATE journal SET op = ? WHERE seq = ?').run(JSON.stringify({ kind: 'unlink', ino: 99, key: 'b' }), mismatched);

    expect(journal.list().map((entry) => entry.seq)).toEqual([upload, good]);
    expect(journal.list().map((entry) => entry.seq)).toEqual([upload, good]);
    expect(journal.uploadOf(3)?.op).toEqual({ kind: 'upload', ino: 3 });
    expect(journal.corruptSeqs()).toEqual([broken, mismatched]);
    expect(warnings).toEqual([
      expect.objectContaining({ seq: broken, kind: 'mkdir' }),
      expect.objectContaining({ seq: mismatched, kind: 'unlink' }),
    ]);
    // Nothing is deleted silently.
    expect(journal.count()).toBe(4);
  });

  it('keeps long failure messages bounded', () => {
    const journal = openJournal(db);
    const seq = journal.add({ kind: 'upload', ino: 2 });
    journal.recordFailure(seq, { code: 'EIO', message: 'x'.repeat(100_000) });
    const entry = journal.uploadOf(2)!;
    expect(entry.lastError!.message.length).toBeLessThanOrEqual(2000);
    expect(entry.lastError!.message.length).toBeGreaterThan(100);
  });

  it('reports a closed database as an FsError', () => {
    const journal = openJournal(db);
    db.close();
    expect(() => journal.add({ kind: 'upload', ino: 2 })).toThrow(expect.objectContaining({ name: 'FsError' }));
  });
});
