/**
 * Child process of the bench: streams SIZE bytes into FILE in 1 MiB writes,
 * then closes it. The data is a 16 MiB random pool with a counter stamped at
 * the start of every MiB, so every block differs (no deduplication) without
 * paying for 2 GiB of random generation. Prints {"ms": elapsed incl. close}.
 * Usage: stream-write.ts FILE SIZE
 */
import { randomBytes } from 'node:crypto';
import { closeSync, openSync, writeSync } from 'node:fs';

const [file, sizeText] = process.argv.slice(2);
if (!file || !sizeText) throw new Error('usage: stream-write.ts FILE SIZE');
const size = Number(sizeText);
const MiB = 2 ** 20;
const pool = randomBytes(16 * MiB);
const t0 = performance.now();
const fd = openSync(file, 'w');
for (let offset = 0, block = 0; offset < size; offset += MiB, block++) {
  const start = (block % 16) * MiB;
  const chunk = pool.subarray(start, start + Math.min(MiB, size - offset));
  chunk.writeDoubleBE(block, 0);
  for (let written = 0; written < chunk.length; ) written += writeSync(fd, chunk, written);
}
closeSync(fd);
process.stdout.write(JSON.stringify({ ms: performance.now() - t0 }) + '\n');
