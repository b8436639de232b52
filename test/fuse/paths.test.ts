import { describe, expect, it } from 'vitest';
import { ROOT_INO, type Attr, type Ino } from '../../src/daemon/vfs/types.js';
import { PathResolver } from '../../src/fuse/paths.js';
import { TestMemoryVfs } from './support/memory-vfs.js';

const caller = { uid: 0, gid: 0, pid: 0 };

/** The test double with a counter of lookups and an optional gate that delays lookup answers until released. */
class CountingVfs extends TestMemoryVfs {
  lookups = 0;
  gate: Promise<void> | undefined;

  override async lookup(parent: Ino, name: string): Promise<Attr> {
    this.lookups++;
    const gate = this.gate;
    const attr = await super.lookup(parent, name);
    if (gate) await gate; // answer computed now, delivered later: a lookup racing other operations
    return attr;
  }
}

async function tree(): Promise<{ vfs: CountingVfs; a: Ino; b: Ino; file: Ino }> {
  const vfs = new CountingVfs();
  const a = (await vfs.mkdir(ROOT_INO, 'a', 0o755, caller)).ino;
  const b = (await vfs.mkdir(a, 'b', 0o755, caller)).ino;
  const file = (await vfs.mknod(b, 'f', 0o644, caller)).ino;
  return { vfs, a, b, file };
}

describe('PathResolver', () => {
  it('resolves paths by lookups from the root', async () => {
    const { vfs, a, b, file } = await tree();
    const paths = new PathResolver(vfs, { ttlMs: 0 });
    expect(await paths.resolve('/')).toBe(ROOT_INO);
    expect(await paths.resolve('/a')).toBe(a);
    expect(await paths.resolve('/a/b/f')).toBe(file);
    expect(await paths.resolveParent('/a/b/f')).toEqual({ parent: b, name: 'f' });
    await expect(paths.resolve('/a/missing/f')).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(paths.resolve('/a/b/f/x')).rejects.toMatchObject({ code: 'ENOTDIR' });
    await expect(paths.resolveParent('/')).rejects.toMatchObject({ code: 'EINVAL' });
    expect(paths.size).toBe(0); // ttl 0: nothing cached
  });

  it('caches directories only, and only for the TTL', async () => {
    const { vfs, file } = await tree();
    const paths = new PathResolver(vfs, { ttlMs: 60_000 });
    expect(await paths.resolve('/a/b/f')).toBe(file);
    expect(vfs.lookups).toBe(3);
    expect(paths.size).toBe(2); // /a and /a/b, never the file
    expect(await paths.resolve('/a/b/f')).toBe(file);
    expect(vfs.lookups).toBe(4); // only the file's own lookup

    const short = new PathResolver(vfs, { ttlMs: 1 });
    await short.resolve('/a/b');
    await new Promise((r) => setTimeout(r, 5));
    const before = vfs.lookups;
    await short.resolve('/a/b');
    expect(vfs.lookups - before).toBe(2); // expired: walked again
  });

  it('forgets a renamed directory and everything below it', async () => {
    const { vfs, a, b } = await tree();
    const paths = new PathResolver(vfs, { ttlMs: 60_000 });
    await paths.resolve('/a/b/f');
    await vfs.rename(ROOT_INO, 'a', ROOT_INO, 'z');
    const replacement = (await vfs.mkdir(ROOT_INO, 'a', 0o755, caller)).ino;
    paths.invalidate('/a');
    paths.invalidate('/z');
    expect(await paths.resolve('/a')).toBe(replacement);
    expect(replacement).not.toBe(a);
    await expect(paths.resolve('/a/b')).rejects.toMatchObject({ code: 'ENOENT' });
    expect(await paths.resolve('/z/b')).toBe(b);
  });

  it('never caches what a walk found before an invalidation that raced it', async () => {
    const { vfs, a } = await tree();
    const paths = new PathResolver(vfs, { ttlMs: 60_000 });
    let release!: () => void;
    vfs.gate = new Promise((r) => (release = r));
    const walking = paths.resolve('/a');
    // The rename completes (and invalidates) while the walk still holds the old answer.
    vfs.gate = undefined;
    await vfs.rename(ROOT_INO, 'a', ROOT_INO, 'moved');
    const fresh = (await vfs.mkdir(ROOT_INO, 'a', 0o755, caller)).ino;
    paths.invalidate('/a');
    release();
    await walking.catch(() => undefined);
    expect(await paths.resolve('/a')).toBe(fresh);
    expect(fresh).not.toBe(a);
  });
});
