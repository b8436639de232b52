import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FsError } from '../../src/core/errors.js';
import { createLogger } from '../../src/core/logger.js';
import { ROOT_INO } from '../../src/daemon/vfs/types.js';
import { EIO, errnoOf, makeReply } from '../../src/fuse/errno.js';
import { HiddenFiles, isHiddenPath } from '../../src/fuse/hidden.js';
import { asFuseNativeOptions, mountOptions } from '../../src/fuse/mount-options.js';
import { readMounts } from '../../src/fuse/mountinfo.js';
import { nsToMs, toFuseStatfs } from '../../src/fuse/stat.js';
import { TestMemoryVfs } from './support/memory-vfs.js';

const temp = mkdtempSync(join(tmpdir(), 'storaged-fuse-units-'));
afterAll(() => rmSync(temp, { recursive: true, force: true }));

describe('errno mapping', () => {
  it('answers an FsError with its own negative errno and anything else with EIO', () => {
    expect(errnoOf(new FsError('ENOENT', 'x'))).toBe(-2);
    expect(errnoOf(new FsError('ENOTEMPTY', 'x'))).toBe(-39);
    expect(errnoOf(new FsError('ENODATA', 'x'))).toBe(-61);
    expect(errnoOf(Object.assign(new Error('raw'), { code: 'ENOENT' }))).toBe(EIO);
    expect(errnoOf('a string')).toBe(EIO);
  });

  it('reply passes values on success and the errno on failure, sync throws included', async () => {
    const reply = makeReply(createLogger('test', 'silent'));
    const calls: unknown[][] = [];
    const cb = (...args: unknown[]) => calls.push(args);
    reply(cb, async () => [0, 'value']);
    reply(cb, async () => [4096]);
    reply(cb, async () => {
      throw new FsError('EEXIST', 'exists');
    });
    reply(cb, () => {
      throw new TypeError('bug before any await');
    });
    await new Promise((r) => setTimeout(r, 10));
    expect(calls).toEqual([[0, 'value'], [4096], [-17], [EIO]]);
  });
});

describe('stat conversions', () => {
  it('keeps whole milliseconds of nanosecond times, never negative', () => {
    expect(nsToMs(1_700_000_000_123_456_789n)).toBe(1_700_000_000_123);
    expect(nsToMs(-5n)).toBe(0);
  });

  it('scales statfs block counts into 32 bits without changing the total', () => {
    const stats = toFuseStatfs({ blockSize: 4096, blocks: 2 ** 40, blocksFree: 2 ** 38, blocksAvailable: 2 ** 37, files: 2 ** 40, filesFree: 10, nameMax: 255 });
    expect(stats.blocks).toBeLessThanOrEqual(0xffffffff);
    expect(stats.frsize * stats.blocks).toBe(4096 * 2 ** 40);
    expect(stats.frsize * stats.bfree).toBe(4096 * 2 ** 38);
    expect(stats.bsize).toBe(stats.frsize);
    expect(stats.files).toBe(0xffffffff);
    const small = toFuseStatfs({ blockSize: 4096, blocks: 100, blocksFree: 50, blocksAvailable: 50, files: 10, filesFree: 5, nameMax: 255 });
    expect(small).toMatchObject({ bsize: 4096, frsize: 4096, blocks: 100, bfree: 50 });
  });
});

describe('mount options', () => {
  it('carries the whole option list inside fuse-native fsname, with a safe source name', () => {
    const list = mountOptions({ fsName: 'storaged:my disk,x', attrTimeout: 0, entryTimeout: 2.5, allowOther: false });
    expect(list[0]).toBe('fsname=storaged:my_disk_x');
    expect(list).toContain('attr_timeout=0');
    expect(list).toContain('entry_timeout=2.5');
    expect(list).not.toContain('allow_other');
    expect(list).not.toContain('kernel_cache');
    // libfuse keeps unlinked open files reachable by a hidden name (hidden.ts), which hard_remove would lose.
    expect(list).not.toContain('hard_remove');
    const { fsname } = asFuseNativeOptions(list);
    // fuse-native builds '-o' + ['fsname=' + fsname].join(','): exactly our list.
    expect(`fsname=${fsname}`).toBe(list.join(','));
    expect(() => asFuseNativeOptions(['allow_other'])).toThrow();
  });
});

describe('mountinfo', () => {
  it('reads mountpoint, fstype and source, decoding octal escapes', async () => {
    const file = join(temp, 'mountinfo');
    writeFileSync(
      file,
      [
        '22 1 0:21 / /proc rw,nosuid - proc proc rw',
        '42 27 0:39 / /tmp/with\\040space rw,nosuid,nodev,relatime shared:1 - fuse.storaged storaged:s3 rw,user_id=0,group_id=0',
        '',
      ].join('\n'),
    );
    expect(await readMounts(file)).toEqual([
      { mountpoint: '/proc', fstype: 'proc', source: 'proc' },
      { mountpoint: '/tmp/with space', fstype: 'fuse.storaged', source: 'storaged:s3' },
    ]);
  });
});

describe('libfuse hidden names', () => {
  it('recognises exactly libfuse 2.9 hidden names', () => {
    expect(isHiddenPath('/a/.fuse_hidden0000001200000003')).toBe(true);
    expect(isHiddenPath('/.fuse_hidden00000012000000ab')).toBe(true);
    expect(isHiddenPath('/.fuse_hidden0000001200000003x')).toBe(false);
    expect(isHiddenPath('/.fuse_hidden12')).toBe(false);
    expect(isHiddenPath('/a.fuse_hidden0000001200000003')).toBe(false);
  });

  it('hiding unlinks the name in the VFS, keeps the data through an alias, and drops it a grace period after unlink', async () => {
    const vfs = new TestMemoryVfs();
    const root = { uid: 0, gid: 0, pid: 0 };
    const { attr, fh } = await vfs.create(ROOT_INO, 'f', 0o644, { flags: 2 }, root);
    await vfs.write(fh, 0, Buffer.from('data'));
    await vfs.release(fh);
    const hidden = new HiddenFiles(vfs, { graceMs: 20, logger: createLogger('test', 'silent') });
    const alias = '/.fuse_hidden0000000200000001';
    await hidden.hide(alias, attr.ino, () => vfs.unlink(ROOT_INO, 'f'));
    expect(await vfs.readdir(ROOT_INO)).toEqual([]);
    expect(hidden.ino(alias)).toBe(attr.ino);
    // The alias's own handle keeps the unlinked file alive: it can still be opened and read.
    const late = await vfs.open(attr.ino, { flags: 0 }, root);
    expect((await vfs.read(late, 0, 10)).toString()).toBe('data');
    await vfs.release(late);
    hidden.unlink(alias);
    expect(hidden.ino(alias)).toBe(attr.ino);
    await new Promise((r) => setTimeout(r, 60));
    expect(hidden.ino(alias)).toBeUndefined();
    await expect(vfs.getattr(attr.ino)).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
