// Writes a planned burst of files into a folder (a storaged mount) and prints
// `ack <name> <sha256>` after each close() returned: the files storaged has
// acknowledged. Content is a deterministic function of (seed, index), so the
// test can recompute it. Exits 0 when done, 3 on the first error (the mount
// died under it), printing `error <code>`.
//
// Usage: node burst-writer.mjs <dir> <seed> <small count> <large count> <large bytes>
import { createHash } from 'node:crypto';
import { closeSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';

const [dir, seedText, smallText, largeText, largeBytesText] = process.argv.slice(2);
const seed = Number(seedText);
const small = Number(smallText);
const large = Number(largeText);
const largeBytes = Number(largeBytesText);

/** xorshift32: a small reproducible generator. */
function generator(start) {
  let x = start >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
}

const plan = [];
for (let i = 0; i < small; i++) plan.push({ name: `small/f-${String(i).padStart(4, '0')}.bin`, size: 0 });
// Large files spread through the burst.
for (let j = 0; j < large; j++) plan.splice(Math.floor(((j + 1) * plan.length) / (large + 1)), 0, { name: `large/big-${j}.bin`, size: largeBytes });
const rand = generator(seed);
for (const entry of plan) if (entry.size === 0) entry.size = 1 + (rand() % (16 * 1024));

const CHUNK = 1 << 20;
try {
  for (const [index, entry] of plan.entries()) {
    const fill = generator(seed * 7919 + index + 1);
    const hash = createHash('sha256');
    const fd = openSync(join(dir, entry.name), 'w');
    for (let done = 0; done < entry.size; done += CHUNK) {
      const part = Buffer.allocUnsafe(Math.min(CHUNK, entry.size - done));
      for (let k = 0; k + 4 <= part.length; k += 4) part.writeUInt32LE(fill(), k);
      for (let k = part.length - (part.length % 4); k < part.length; k++) part[k] = fill() & 0xff;
      writeSync(fd, part);
      hash.update(part);
    }
    closeSync(fd);
    process.stdout.write(`ack ${entry.name} ${hash.digest('hex')}\n`);
  }
} catch (err) {
  process.stdout.write(`error ${err.code ?? err.message}\n`);
  process.exit(3);
}
