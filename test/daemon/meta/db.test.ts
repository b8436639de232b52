import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FsError } from '../../../src/core/errors.js';
import { BUSY_TIMEOUT_MS, migrate, openDatabase, PAGE_CACHE_KIB, SYNCHRONOUS } from '../../../src/daemon/db.js';
import { codeOf, tempFolder } from './helpers.js';

const temp = tempFolder('db');
afterAll(temp.cleanup);
let counter = 0;
const fresh = (): string => join(temp.dir, `case-${++counter}`, 'nested', 'meta.db');

describe('openDatabase', () => {
  it('creates parent folders and sets WAL, synchronous, foreign keys and busy timeout', () => {
    const file = fresh();
    const db = openDatabase(file);
    try {
      expect(db.name).toBe(file);
      expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
      const synchronous = { OFF: 0, NORMAL: 1, FULL: 2 }[SYNCHRONOUS];
      expect(db.pragma('synchronous', { simple: true })).toBe(synchronous);
      expect(db.pragma('foreign_keys', { simple: true })).toBe(1);
      expect(db.pragma('busy_timeout', { simple: true })).toBe(BUSY_TIMEOUT_MS);
      expect(db.pragma('cache_size', { simple: true })).toBe(-PAGE_CACHE_KIB);
      expect(db.pragma('user_version', { simple: true })).toBe(1);
      expect(db.prepare('SELECT count(*) FROM schema_versions').pluck().get()).toBe(0);
    } finally {
      db.close();
    }
  });

  it('rejects a file that is not a database with EIO naming the file', () => {
    const file = fresh();
    mkdirSync(join(file, '..'), { recursive: true });
    writeFileSync(file, 'this is not a database, just some text that is long enough to have a header'.repeat(20));
    let error: unknown;
    try {
      openDatabase(file).close();
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(FsError);
    expect((error as FsError).code).toBe('EIO');
    expect((error as FsError).message).toContain(file);
    expect((error as FsError).path).toBe(file);
  });

  it('rejects a database file whose header is corrupt with EIO', () => {
    const file = fresh();
    const db = openDatabase(file);
    db.exec('CREATE TABLE t (x INTEGER); INSERT INTO t VALUES (1);');
    db.close();
    writeFileSync(file, Buffer.alloc(100, 0xab));
    expect(codeOf(() => openDatabase(file))).toBe('EIO');
  });

  it('rejects a path that cannot be a file (a folder, or below a file) with EIO', () => {
    const folder = join(temp.dir, `case-${++counter}`);
    mkdirSync(folder, { recursive: true });
    expect(codeOf(() => openDatabase(folder))).toBe('EIO');
    const plain = join(folder, 'plain');
    writeFileSync(plain, 'x');
    expect(codeOf(() => openDatabase(join(plain, 'meta.db')))).toBe('EIO');
  });

  it('rejects a file format newer than this version with EIO', () => {
    const file = fresh();
    const db = openDatabase(file);
    db.pragma('user_version = 99');
    db.close();
    expect(codeOf(() => openDatabase(file))).toBe('EIO');
  });
});

describe('migrate', () => {
  it('runs missing steps per module, keeping each module its own version', () => {
    const file = fresh();
    const db = openDatabase(file);
    const cacheSteps = ['CREATE TABLE cache_a (x INTEGER)', 'ALTER TABLE cache_a ADD COLUMN y INTEGER'];
    expect(migrate(db, 'cache', cacheSteps.slice(0, 1))).toBe(0);
    expect(migrate(db, 'other', ['CREATE TABLE other_a (z TEXT)'])).toBe(0);
    expect(migrate(db, 'cache', cacheSteps)).toBe(1);
    expect(migrate(db, 'cache', cacheSteps)).toBe(2);
    db.prepare('INSERT INTO cache_a (x, y) VALUES (1, 2)').run();
    const versions = db.prepare('SELECT module, version FROM schema_versions ORDER BY module').all();
    expect(versions).toEqual([
      { module: 'cache', version: 2 },
      { module: 'other', version: 1 },
    ]);
    db.close();

    const reopened = openDatabase(file);
    let functionStepRan = 0;
    expect(migrate(reopened, 'cache', [...cacheSteps, () => functionStepRan++])).toBe(2);
    expect(functionStepRan).toBe(1);
    reopened.close();
  });

  it('rolls a failing step back and leaves the version where it was', () => {
    const db = openDatabase(fresh());
    expect(codeOf(() => migrate(db, 'broken', ['CREATE TABLE ok_table (x INTEGER)', 'CREATE TABLE half (x INTEGER); SELECT nonsense FROM nowhere']))).toBe('EIO');
    expect(db.prepare("SELECT version FROM schema_versions WHERE module = 'broken'").pluck().get()).toBe(1);
    expect(db.prepare("SELECT count(*) FROM sqlite_master WHERE name = 'half'").pluck().get()).toBe(0);
    db.close();
  });

  it('rejects tables newer than the steps this version knows with EIO', () => {
    const db = openDatabase(fresh());
    migrate(db, 'mod', ['CREATE TABLE m1 (x INTEGER)', 'CREATE TABLE m2 (x INTEGER)']);
    expect(codeOf(() => migrate(db, 'mod', ['CREATE TABLE m1 (x INTEGER)']))).toBe('EIO');
    db.close();
  });
});
