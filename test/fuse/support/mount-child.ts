/**
 * Serves the TestMemoryVfs test double at argv[2] through mountVfs, in its
 * own process (the test process must never do file I/O on a mount that its
 * own event loop serves). Talks to the test over the fork IPC channel:
 * sends { type: 'mounted', options } or { type: 'error', code, message };
 * answers { type: 'stats' } with { type: 'stats', writeSizes, setattrs, calls }.
 * SIGTERM: unmount, close the VFS, exit 0.
 */
import { createLogger } from '../../../src/core/logger.js';
import { isFsError } from '../../../src/core/errors.js';
import { mountVfs } from '../../../src/fuse/mount.js';
import { TestMemoryVfs } from './memory-vfs.js';

const mountpoint = process.argv[2];
if (mountpoint === undefined) throw new Error('usage: mount-child <mountpoint>');
const send = (message: object) => process.send?.(message);
const logger = createLogger('mount-child', process.env.STORAGED_LOG_LEVEL ?? 'warn');
const vfs = new TestMemoryVfs();

try {
  const handle = await mountVfs(vfs, mountpoint, { logger, fsName: 'storaged:test', attrTimeout: 1, entryTimeout: 1 });
  process.on('message', (message: { type?: string }) => {
    if (message.type === 'stats') send({ type: 'stats', writeSizes: vfs.writeSizes, setattrs: vfs.setattrs, calls: vfs.calls });
  });
  process.once('SIGTERM', () => {
    void handle
      .unmount()
      .then(() => vfs.close())
      .then(() => process.exit(0), (err: unknown) => {
        process.stderr.write(`unmount failed: ${String(err)}\n`);
        process.exit(1);
      });
  });
  send({ type: 'mounted', options: handle.options });
} catch (err) {
  send({ type: 'error', code: isFsError(err) ? err.code : 'UNKNOWN', message: err instanceof Error ? err.message : String(err) });
  process.disconnect?.();
  process.exitCode = 1;
}
