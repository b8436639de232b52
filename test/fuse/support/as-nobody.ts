import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';

/** The user the permission tests act as. */
export const NOBODY = { uid: 65534, gid: 65534 };

/** Root with setpriv can run a shell as nobody (uid/gid 65534) to check permissions as another user. */
export const canSwitchUser = process.getuid?.() === 0 && existsSync('/usr/bin/setpriv');

/** Runs `script` with sh as nobody (no supplementary groups); resolves with its stdout. */
export function asNobody(script: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const args = [`--reuid=${NOBODY.uid}`, `--regid=${NOBODY.gid}`, '--clear-groups', 'sh', '-c', script];
    execFile('setpriv', args, { timeout: 20_000 }, (err, stdout) => (err ? reject(err) : resolve(stdout)));
  });
}
