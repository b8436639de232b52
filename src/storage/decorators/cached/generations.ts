import { createHash, randomBytes } from 'node:crypto';
import type { GuardedStore } from './guarded-store.js';

/** What a cache entry holds about its path. */
export type EntryKind = 'stat' | 'list' | 'content' | 'checksum' | 'visibility';

/** Invalidations owed beyond this many are replaced by one that drops the whole cache. */
const MAX_OWED = 1000;
/** Paths longer than this are hashed in store keys (the store contract wants short keys). */
const MAX_PLAIN_PATH = 200;

/**
 * The invalidation scheme of the cached driver: generations instead of
 * deletes, so one store write invalidates a path, a folder's listings or a
 * whole subtree, for every driver sharing the store, and so racing fills can
 * never resurrect what a write changed.
 *
 * Store keys besides the entries:
 * - `p:<path>` path generation: bumped when the path itself changes and when
 *   anything below it changes (so a folder's stat and listings follow its
 *   children; implied folders appear and vanish);
 * - `t:<dir>` tree generation: bumped by deleteDirectory and move, which
 *   change everything below;
 * - `u:<path>` upload mark: present while a temporary upload URL for a path
 *   at or below it may still be used (the path is then not cached at all).
 *
 * An entry about path P lives under a key hashed from the tree generations of
 * all of P's proper ancestors (root '' included), P's own path generation and
 * the entry's kind and arguments. A bump stores a fresh random value, so an
 * entry is reachable only while every generation it was filed under is
 * unchanged; orphaned entries expire by TTL or eviction. A generation that is
 * missing (never set, expired, evicted) is created with a fresh random value
 * before the inner driver is asked, which is as safe as a bump.
 *
 * Why a fill never serves stale data after a write through any driver sharing
 * the store: a lookup reads the generations before it asks the inner driver;
 * a write bumps them after the inner driver finished. If the lookup read them
 * before the bump, its entry is filed under values the bump replaced; if it
 * read them after, the write was complete before it asked the inner driver.
 *
 * A bump the store refused is owed: every lookup first pays what is owed and,
 * until that succeeds, bypasses the store (so a cache that missed an
 * invalidation is never read). More than MAX_OWED owed bumps collapse into a
 * bump of the root's generations, which orphans everything.
 */
export class Generations {
  private readonly owed = new Map<string, { value: Buffer; ttlMs: number }>();

  constructor(
    private readonly store: GuardedStore,
    private readonly generationTtlMs: number,
  ) {}

  /** Invalidations not yet accepted by the store. */
  get owedCount(): number {
    return this.owed.size;
  }

  /**
   * The store key of the `kind` entry about normalized `path` (with `detail`
   * for listing arguments), or undefined when the store must be bypassed.
   */
  async entryKey(path: string, kind: EntryKind, detail = ''): Promise<string | undefined> {
    if (this.owed.size > 0 && !(await this.payOwed())) return undefined;
    const generationKeys = [...ancestors(path).map((dir) => storeKey('t', dir)), storeKey('p', path)];
    // The upload mark is read last: an in-order store that shows a bump made after the mark shows the mark too.
    const values = await this.store.getAll([...generationKeys, storeKey('u', path)]);
    if (values === undefined || values[values.length - 1] !== undefined) return undefined;
    const generations: string[] = [];
    const created: Array<Promise<boolean>> = [];
    generationKeys.forEach((key, index) => {
      const value = values[index];
      if (value !== undefined && value.length > 0) return void generations.push(value.toString('latin1'));
      const fresh = newGeneration();
      generations.push(fresh.toString('latin1'));
      created.push(this.store.set(key, fresh, this.generationTtlMs));
    });
    if (created.length > 0 && (await Promise.all(created)).includes(false)) return undefined;
    const digest = createHash('sha256').update(JSON.stringify([generations, path, detail])).digest('base64url');
    return `e:${kind}:${digest}`;
  }

  /**
   * Invalidates, after a change through the driver: every entry about each
   * of `paths` and their ancestors (stats, listings), and everything below
   * each of `subtrees`. Never rejects: refused bumps are owed.
   */
  async changed(paths: readonly string[], subtrees: readonly string[] = []): Promise<void> {
    const keys = new Set<string>();
    for (const path of paths) {
      keys.add(storeKey('p', path));
      for (const dir of ancestors(path)) keys.add(storeKey('p', dir));
    }
    for (const dir of subtrees) keys.add(storeKey('t', dir));
    await Promise.all([...keys].map((key) => this.put(key, newGeneration(), this.generationTtlMs)));
  }

  /**
   * Marks `path` and its ancestors as changing behind the driver's back for
   * `ttlMs` (a temporary upload URL): lookups bypass the store meanwhile. Then
   * invalidates them, so nothing cached before the mark outlives it.
   */
  async uploading(path: string, ttlMs: number): Promise<void> {
    const marked = [path, ...ancestors(path)];
    await Promise.all(marked.map((dir) => this.put(storeKey('u', dir), Buffer.from('1'), ttlMs)));
    await this.changed([path]);
  }

  private async put(key: string, value: Buffer, ttlMs: number): Promise<void> {
    if (await this.store.set(key, value, ttlMs)) {
      this.owed.delete(key); // a newer bump of the same key settles an owed one
      return;
    }
    this.owe(key, value, ttlMs);
  }

  private owe(key: string, value: Buffer, ttlMs: number): void {
    this.owed.set(key, { value, ttlMs });
    if (this.owed.size <= MAX_OWED) return;
    this.owed.clear();
    this.owed.set(storeKey('t', ''), { value: newGeneration(), ttlMs: this.generationTtlMs });
    this.owed.set(storeKey('p', ''), { value: newGeneration(), ttlMs: this.generationTtlMs });
  }

  /** Retries every owed bump; true once none is owed. */
  private async payOwed(): Promise<boolean> {
    const owed = [...this.owed];
    const results = await Promise.all(owed.map(([key, { value, ttlMs }]) => this.store.set(key, value, ttlMs)));
    owed.forEach(([key, bump], index) => {
      if (results[index] && this.owed.get(key) === bump) this.owed.delete(key);
    });
    return this.owed.size === 0;
  }
}

/** The proper ancestors of a normalized key, root ('') first: 'a/b/c' gives ['', 'a', 'a/b']; '' gives []. */
export function ancestors(path: string): string[] {
  if (path === '') return [];
  const parts = path.split('/');
  const out = [''];
  for (let i = 1; i < parts.length; i++) out.push(parts.slice(0, i).join('/'));
  return out;
}

function storeKey(kind: 't' | 'p' | 'u', path: string): string {
  if (path.length <= MAX_PLAIN_PATH) return `${kind}:${path}`;
  return `${kind}#${createHash('sha256').update(path).digest('base64url')}`;
}

function newGeneration(): Buffer {
  return Buffer.from(randomBytes(12).toString('base64url'), 'latin1');
}
