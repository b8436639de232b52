import { execFile, execFileSync } from 'node:child_process';

/** True when python3 runs here (Node has no xattr or mkfifo API; the tests use python's). */
export const hasPython = (() => {
  try {
    execFileSync('python3', ['-c', 'import os; os.getxattr'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

/** Runs a python3 script with `args` (as sys.argv[1:]) and parses the JSON it prints. */
export function runPython<T>(script: string, args: string[]): Promise<T> {
  return new Promise((resolve, reject) => {
    execFile('python3', ['-c', script, ...args], { timeout: 30_000 }, (err, stdout, stderr) => {
      if (err) return reject(new Error(`python3 failed: ${stderr || err.message}`));
      resolve(JSON.parse(stdout) as T);
    });
  });
}

/** Exercises every xattr call on sys.argv[1], the size-query and too-small-buffer paths included. */
export const XATTR_SCRIPT = `
import os, sys, json, ctypes, errno
path = sys.argv[1]
out = {}
def code(f):
    try:
        f()
        return 'OK'
    except OSError as e:
        return errno.errorcode[e.errno]
libc = ctypes.CDLL(None, use_errno=True)
libc.getxattr.restype = ctypes.c_ssize_t
libc.listxattr.restype = ctypes.c_ssize_t
os.setxattr(path, 'user.small', b'v1')
big = bytes(range(256)) * 2
os.setxattr(path, 'user.big', big)
names = ['user.name%03d' % i for i in range(40)]
for n in names:
    os.setxattr(path, n, b'x')
out['small'] = os.getxattr(path, 'user.small').decode()
out['bigMatches'] = os.getxattr(path, 'user.big') == big
out['list'] = sorted(os.listxattr(path))
out['sizeQuery'] = libc.getxattr(path.encode(), b'user.big', None, 0)
out['listSizeQuery'] = libc.listxattr(path.encode(), None, 0)
buf = ctypes.create_string_buffer(10)
r = libc.getxattr(path.encode(), b'user.big', buf, 10)
out['smallBuffer'] = errno.errorcode[ctypes.get_errno()] if r < 0 else r
lbuf = ctypes.create_string_buffer(16)
r = libc.listxattr(path.encode(), lbuf, 16)
out['smallListBuffer'] = errno.errorcode[ctypes.get_errno()] if r < 0 else r
out['createExisting'] = code(lambda: os.setxattr(path, 'user.small', b'z', os.XATTR_CREATE))
out['replaceMissing'] = code(lambda: os.setxattr(path, 'user.none', b'z', os.XATTR_REPLACE))
os.removexattr(path, 'user.small')
out['getRemoved'] = code(lambda: os.getxattr(path, 'user.small'))
out['removeMissing'] = code(lambda: os.removexattr(path, 'user.small'))
print(json.dumps(out))
`;

/** Prints { mkfifo: 'OK' | errno name, frsize, blocks } for sys.argv[1] (a fifo path) and sys.argv[2] (the mount). */
export const FIFO_STATVFS_SCRIPT = `
import os, sys, json, errno
out = {}
try:
    os.mkfifo(sys.argv[1])
    out['mkfifo'] = 'OK'
except OSError as e:
    out['mkfifo'] = errno.errorcode[e.errno]
st = os.statvfs(sys.argv[2])
out['bsize'] = st.f_bsize
out['frsize'] = st.f_frsize
out['blocks'] = st.f_blocks
out['bavail'] = st.f_bavail
out['namemax'] = st.f_namemax
print(json.dumps(out))
`;
