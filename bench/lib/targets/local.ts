import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Target, TargetEnvironment } from './types.js';

/** The baseline: the same workloads on a plain folder of the local disk (no FUSE, no process). */
export function localTarget(env: TargetEnvironment): Target {
  return {
    name: 'local',
    usesBucket: false,
    version: async () => 'local disk (no FUSE)',
    async mount(volume) {
      const root = join(env.workDir, 'local', volume);
      await mkdir(root, { recursive: true });
      return { root, pid: null, unmount: async () => {} };
    },
  };
}
