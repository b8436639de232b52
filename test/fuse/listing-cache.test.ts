import { chmodSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { forceUnmount, startMountProcess, type MountProcess } from './support/mount-process.js';
import { hasPython, runPython } from './support/python.js';

/** Needs /dev/fuse and python3 (xattr calls); dropping the kernel's dentries needs root. */
const canMount = existsSync('/dev/fuse') && hasPython;
const isRoot = process.getuid?.() === 0;
/** The mount child's attribute timeout is 1 s: past this, neither the kernel nor the listing cache holds an entry. */
const PAST_TIMEOUT_MS = 1300;
const FILES = 30;

/**
 * Lists sys.argv[1], then, at once, does what `ls -l` does for every entry
 * (lstat, security.selinux, system.posix_acl_access), and reads user.k of
 * the entries that have it. Prints modes, the probes' outcomes and user.k values.
 */
const LS_SCRIPT = `
import os, sys, json, errno
d = sys.argv[1]
def probe(p, name):
    try:
        return os.getxattr(p, name, follow_symlinks=False).decode()
    except OSError as e:
        return errno.errorcode[e.errno]
names = sorted(os.listdir(d))
out = {'names': names, 'modes': {}, 'probes': set(), 'k': {}}
for n in names:
    p = os.path.join(d, n)
    out['modes'][n] = os.lstat(p).st_mode & 0o7777
    out['probes'].add(probe(p, 'security.selinux'))
    out['probes'].add(probe(p, 'system.posix_acl_access'))
    out['k'][n] = probe(p, 'user.k')
out['probes'] = sorted(out['probes'])
print(json.dumps(out))
`;

/** Lists sys.argv[1], sets user.new on its first entry, reads it back: the value, or the errno. */
const SET_AFTER_LIST_SCRIPT = `
import os, sys, json, errno
d = sys.argv[1]
first = os.path.join(d, sorted(os.listdir(d))[0])
os.setxattr(first, 'user.new', b'fresh')
try:
    print(json.dumps(os.getxattr(first, 'user.new').decode()))
except OSError as e:
    print(json.dumps(errno.errorcode[e.errno]))
`;

/** Lists sys.argv[1], chmods sys.argv[2] to 0600, drops the kernel's dentries and inodes, and stats it again. */
const CHMOD_AFTER_LIST_SCRIPT = `
import os, sys, json
os.listdir(sys.argv[1])
os.chmod(sys.argv[2], 0o600)
with open('/proc/sys/vm/drop_caches', 'w') as f:
    f.write('2')
print(json.dumps(os.lstat(sys.argv[2]).st_mode & 0o7777))
`;

interface LsResult {
  names: string[];
  modes: Record<string, number>;
  probes: string[];
  k: Record<string, string>;
}

describe.skipIf(!canMount)('listing cache of the patched binding (test-double VFS in a child process)', { timeout: 60_000 }, () => {
  const temp = mkdtempSync(join(tmpdir(), 'storaged-listing-'));
  const mnt = join(temp, 'mnt');
  const dir = join(mnt, 'dir');
  let served: MountProcess;
  const calls = async () => (await served.stats()).calls;

  beforeAll(async () => {
    chmodSync(temp, 0o755);
    served = await startMountProcess(mnt);
    expect(served.outcome).toMatchObject({ type: 'mounted' });
    await fs.mkdir(dir);
    for (let i = 0; i < FILES; i++) await fs.writeFile(join(dir, `f${String(i).padStart(2, '0')}`), `file ${i}`, { mode: 0o644 });
    await runPython(`import os, sys, json; os.setxattr(sys.argv[1], 'user.k', b'v'); print('1')`, [join(dir, 'f07')]);
  });

  afterAll(async () => {
    await served?.stop();
    await forceUnmount(mnt);
    rmSync(temp, { recursive: true, force: true });
  });

  it('answers the lookups and xattr probes of a fresh listing without asking the VFS', async () => {
    await sleep(PAST_TIMEOUT_MS);
    const before = await calls();
    const result = await runPython<LsResult>(LS_SCRIPT, [dir]);
    const after = await calls();

    expect(result.names).toHaveLength(FILES);
    expect(Object.values(result.modes).every((mode) => mode === 0o644)).toBe(true);
    expect(result.probes).toEqual(['ENODATA']);
    expect(result.k.f07).toBe('v');
    expect(Object.entries(result.k).filter(([name]) => name !== 'f07').every(([, value]) => value === 'ENODATA')).toBe(true);
    // Without the cache: a lookup and three getxattr per entry. With it: the directory's own lookups,
    // and f07 alone (it has an xattr) reaches the VFS, three getxattr each resolving its path.
    expect(after.lookup - before.lookup).toBeLessThanOrEqual(5);
    expect(after.getxattr - before.getxattr).toBe(3);
  });

  it('forgets entries after the attribute timeout', async () => {
    await runPython<LsResult>(LS_SCRIPT, [dir]);
    await sleep(PAST_TIMEOUT_MS);
    const before = await calls();
    for (let i = 0; i < FILES; i++) await fs.lstat(join(dir, `f${String(i).padStart(2, '0')}`));
    const after = await calls();
    expect(after.lookup - before.lookup).toBeGreaterThanOrEqual(FILES);
  });

  it('a change through the mount empties the cache: an xattr set right after a listing reads back', async () => {
    await sleep(PAST_TIMEOUT_MS);
    expect(await runPython<string>(SET_AFTER_LIST_SCRIPT, [dir])).toBe('fresh');
  });

  it.skipIf(!isRoot)('a chmod right after a listing shows in the next lookup', async () => {
    await sleep(PAST_TIMEOUT_MS);
    expect(await runPython<number>(CHMOD_AFTER_LIST_SCRIPT, [dir, join(dir, 'f03')])).toBe(0o600);
  });
});
