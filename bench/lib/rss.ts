import { readdir, readFile } from 'node:fs/promises';

/** Memory of a mount's serving process tree while a workload ran. */
export interface RssReport {
  /** Highest sum of VmRSS over the process and its descendants among the samples, in KiB. */
  peakKiB: number;
  /** The main process's own VmHWM (the kernel's peak RSS for its lifetime), in KiB. */
  hwmKiB: number;
  samples: number;
}

async function statusField(pid: number, field: 'VmRSS' | 'VmHWM'): Promise<number> {
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
    return match ? Number(match[1]) : 0;
  } catch {
    return 0; // the process (or a short-lived child) is gone
  }
}

/** pid and every descendant of it, from the ppid field of /proc/N/stat. */
async function processTree(root: number): Promise<number[]> {
  const parents = new Map<number, number[]>();
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = await readFile(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const list = parents.get(ppid) ?? [];
      list.push(Number(name));
      parents.set(ppid, list);
    } catch {
      // exited while listing
    }
  }
  const tree = [root];
  for (let i = 0; i < tree.length && i < 10_000; i++) tree.push(...(parents.get(tree[i]!) ?? []));
  return tree;
}

/**
 * Samples the resident memory of `pid` and its descendants every
 * intervalMs until stop() is called; the tree is re-read every tenth sample.
 */
export function sampleRss(pid: number, intervalMs = 100): { stop(): Promise<RssReport> } {
  let peakKiB = 0;
  let samples = 0;
  let tree: number[] = [pid];
  let busy: Promise<void> = Promise.resolve();
  const sample = async () => {
    if (samples % 10 === 0) tree = await processTree(pid);
    const sizes = await Promise.all(tree.map((p) => statusField(p, 'VmRSS')));
    peakKiB = Math.max(peakKiB, sizes.reduce((a, b) => a + b, 0));
    samples++;
  };
  const timer = setInterval(() => {
    busy = busy.then(sample);
  }, intervalMs);
  busy = busy.then(sample);
  return {
    async stop() {
      clearInterval(timer);
      await busy;
      await sample();
      return { peakKiB, hwmKiB: await statusField(pid, 'VmHWM'), samples };
    },
  };
}

/** Current VmRSS of one process in KiB (0 when it is gone). */
export const currentRssKiB = (pid: number) => statusField(pid, 'VmRSS');
