/**
 * Child process of the bench: creates COUNT files of SIZE bytes in DIR (made
 * first, untimed) with open/write/close per file, one after the other, as
 * one ordinary program would. Each file's bytes differ (its index leads), so
 * no deduplication helps. Prints {"ms": elapsed, "startedAt": epoch ms}.
 * Usage: create-files.ts DIR COUNT SIZE
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const [dir, countText, sizeText] = process.argv.slice(2);
if (!dir || !countText || !sizeText) throw new Error('usage: create-files.ts DIR COUNT SIZE');
const count = Number(countText);
const size = Number(sizeText);
mkdirSync(dir);
const body = randomBytes(size);
const startedAt = Date.now();
const t0 = performance.now();
for (let i = 0; i < count; i++) {
  body.writeUInt32BE(i, 0);
  writeFileSync(join(dir, `file-${String(i).padStart(5, '0')}.bin`), body);
}
const ms = performance.now() - t0;
process.stdout.write(JSON.stringify({ ms, startedAt }) + '\n');
