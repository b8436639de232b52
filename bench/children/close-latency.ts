/**
 * Child process of the bench: creates COUNT files of SIZE bytes in DIR (made
 * first, untimed), one after the other, and times each file's
 * open-write-close on its own. Each file's bytes differ (a random body per
 * run, the file's index stamped at its start), so no deduplication helps.
 * Prints {"ms": total, "startedAt": epoch ms, "closes": [ms per file]}.
 * Usage: close-latency.ts DIR COUNT SIZE
 */
import { randomBytes } from 'node:crypto';
import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';

const [dir, countText, sizeText] = process.argv.slice(2);
if (!dir || !countText || !sizeText) throw new Error('usage: close-latency.ts DIR COUNT SIZE');
const count = Number(countText);
const size = Number(sizeText);
mkdirSync(dir, { recursive: true });
const body = randomBytes(size);
const closes: number[] = [];
const startedAt = Date.now();
const t0 = performance.now();
for (let i = 0; i < count; i++) {
  body.writeUInt32BE(i, 0);
  const started = performance.now();
  const fd = openSync(join(dir, `file-${String(i).padStart(5, '0')}.bin`), 'w');
  for (let written = 0; written < body.length; ) written += writeSync(fd, body, written);
  closeSync(fd);
  closes.push(performance.now() - started);
}
const ms = performance.now() - t0;
process.stdout.write(JSON.stringify({ ms, startedAt, closes }) + '\n');
