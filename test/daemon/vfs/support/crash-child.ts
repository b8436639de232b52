/**
 * The process the crash tests kill: opens the VFS of a local disk
 * (crash-setup.ts), runs the burst of crash-workload.ts for the given seed
 * and prints `ack <i>` on stdout once operation i returned (stdout is a pipe:
 * synchronous on Linux, so an ack is out before the next operation starts),
 * then `done`, and waits to be killed. Never closes the VFS.
 *
 * Usage: node --import tsx crash-child.ts '<json: CrashPlaces & { seed, shape }>'
 */
import { openCrashVfs, runCrashOp, type CrashPlaces } from './crash-setup.js';
import { crashWorkload, type WorkloadShape } from './crash-workload.js';

const args = JSON.parse(process.argv[2] ?? '{}') as CrashPlaces & { seed: number; shape: WorkloadShape };
const { vfs } = await openCrashVfs(args, process.env.STORAGED_CRASH_CHILD_LOG ?? 'warn'); // warnings (retries, given-up operations) go to stderr
const ops = crashWorkload(args.seed, args.shape);
for (const [i, op] of ops.entries()) {
  await runCrashOp(vfs, op);
  process.stdout.write(`ack ${i}\n`);
}
process.stdout.write('done\n');
// Keep running (uploads go on) until the parent's SIGKILL.
setInterval(() => undefined, 60_000);
