import { SingleBar } from 'cli-progress';

/** What is left to send to the backend (Vfs.status().pending). */
export interface PendingWork {
  operations: number;
  uploads: number;
  bytes: number;
}

/** "3 operations (2 uploads, 1.5 MiB)": pending work in words. */
export function describePending(pending: PendingWork): string {
  const ops = `${pending.operations} backend operation${pending.operations === 1 ? '' : 's'}`;
  return pending.uploads > 0 ? `${ops} (${pending.uploads} upload${pending.uploads === 1 ? '' : 's'}, ${formatBytes(pending.bytes)})` : ops;
}

/** Bytes in binary units, one decimal: "1.5 MiB". */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(1)} ${units[unit]}`;
}

/** Shows the draining of pending work on stderr; `stop` ends the display. */
export interface DrainProgress {
  update(pending: PendingWork): void;
  stop(): void;
}

/**
 * Progress of the final upload of a stopping mount, on stderr: a progress
 * bar (cli-progress) of operations done when stderr is a terminal, else one
 * line per update ("storaged: 12 backend operations (3 uploads, 4.0 MiB)
 * pending"). Nothing at all when nothing is pending at the start.
 */
export function startDrainProgress(initial: PendingWork, stream: NodeJS.WriteStream = process.stderr): DrainProgress {
  if (initial.operations === 0) return { update: () => undefined, stop: () => undefined };
  stream.write(`storaged: finishing ${describePending(initial)}\n`);
  if (!stream.isTTY) {
    return {
      update: (pending) => void stream.write(`storaged: ${describePending(pending)} pending\n`),
      stop: () => undefined,
    };
  }
  const bar = new SingleBar({ stream, format: 'storaged: uploading [{bar}] {value}/{total} operations | {left} left', hideCursor: true });
  let total = initial.operations;
  bar.start(total, 0, { left: formatBytes(initial.bytes) });
  return {
    update: (pending) => {
      // New work may arrive while draining (open files scheduled at close): the total grows with it.
      total = Math.max(total, pending.operations);
      bar.setTotal(total);
      bar.update(total - pending.operations, { left: formatBytes(pending.bytes) });
    },
    stop: () => bar.stop(),
  };
}
