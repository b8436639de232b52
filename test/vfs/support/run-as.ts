import { spawn } from 'node:child_process';

/** One filesystem call for a child process to make (node:fs/promises method name and arguments). */
export interface FsCall {
  op: 'readFile' | 'writeFile' | 'appendFile' | 'chmod' | 'chown' | 'utimes' | 'unlink' | 'rename' | 'mkdir' | 'rmdir' | 'readdir' | 'stat' | 'truncate';
  args: (string | number)[];
}

/** What a call gave: its value (file content as text, stat as uid/gid/mode) or the errno name. */
export type FsCallResult = { ok: true; value: unknown } | { ok: false; code: string };

const CHILD_SCRIPT = `
const fsp = require('node:fs/promises');
(async () => {
  const calls = JSON.parse(process.argv[1]);
  const results = [];
  for (const { op, args } of calls) {
    try {
      let value = await fsp[op](...args);
      if (Buffer.isBuffer(value)) value = value.toString();
      else if (value && typeof value === 'object' && 'mode' in value) value = { uid: value.uid, gid: value.gid, mode: value.mode };
      results.push({ ok: true, value: value ?? null });
    } catch (err) {
      results.push({ ok: false, code: err.code || String(err) });
    }
  }
  process.stdout.write(JSON.stringify(results));
})();
`;

/**
 * Runs fs calls one after another in a child node process with the given
 * uid/gid (the tests run as root), so the kernel checks them as that user.
 */
export function runAs(ids: { uid: number; gid: number }, calls: FsCall[]): Promise<FsCallResult[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', CHILD_SCRIPT, JSON.stringify(calls)], {
      uid: ids.uid,
      gid: ids.gid,
      cwd: '/',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`child as uid ${ids.uid} exited ${code}: ${err}`));
      resolve(JSON.parse(out) as FsCallResult[]);
    });
  });
}

/** Runs a shell command as uid/gid; resolves to its exit code and stderr. */
export function commandAs(ids: { uid: number; gid: number }, command: string, args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { uid: ids.uid, gid: ids.gid, cwd: '/', stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stderr }));
  });
}
