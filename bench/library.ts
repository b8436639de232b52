/**
 * The library benchmark of issue 5: what each decorator costs over the disk
 * it wraps, against plain node:fs on the same folder (what an application
 * would otherwise call). Streams one file of --size through a local disk,
 * encrypted(local) and node:fs (write, then read back), and times stat and
 * small-file reads through local and cached(local) with a memory store.
 * Usage: node --import tsx bench/library.ts [--size 256MiB] [--rounds 3]
 * Prints a markdown table (medians of the rounds).
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { parseSize } from '../src/core/config/size.js';
import { createLocalDriver } from '../src/drivers/local/index.js';
import type { StorageDriver } from '../src/drivers/types.js';
import { createCachedDriver, createEncryptedDriver, createMemoryCacheStore } from '../src/storage/index.js';

const MiB = 2 ** 20;
const args = new Map<string, string>();
for (let i = 2; i < process.argv.length; i += 2) args.set(process.argv[i]!.replace(/^--/, ''), process.argv[i + 1] ?? '');
const size = parseSize(args.get('size') ?? '256MiB');
const rounds = Number(args.get('rounds') ?? 3);

/** `size` pseudo-random bytes in 1 MiB chunks (one random MiB repeated with a counter, so making it costs nothing). */
function source(): Readable {
  const block = randomBytes(MiB);
  let sent = 0;
  return new Readable({
    read() {
      if (sent >= size) return void this.push(null);
      const chunk = Buffer.from(block.subarray(0, Math.min(MiB, size - sent)));
      chunk.writeUInt32BE(sent / MiB, 0);
      sent += chunk.length;
      this.push(chunk);
    },
  });
}

async function drain(stream: Readable): Promise<void> {
  const hash = createHash('sha256');
  for await (const chunk of stream) hash.update(chunk as Buffer);
}

async function timed(run: () => Promise<void>): Promise<number> {
  const started = process.hrtime.bigint();
  await run();
  return Number(process.hrtime.bigint() - started) / 1e9;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/** MB/s of writing then reading `size` bytes through `driver` (or node:fs when driver is undefined). */
async function streamRound(root: string, driver: StorageDriver | undefined, name: string): Promise<{ write: number; read: number }> {
  const path = join(root, name);
  const write = await timed(async () => {
    if (driver) await driver.write(name, source());
    else await pipeline(source(), createWriteStream(path));
  });
  const read = await timed(async () => drain(driver ? await driver.read(name) : createReadStream(path)));
  return { write: size / MiB / write, read: size / MiB / read };
}

/** Microseconds per stat and per read of a 4 KiB file, 2,000 times each over 200 files. */
async function smallRound(driver: StorageDriver): Promise<{ stat: number; read: number }> {
  for (let i = 0; i < 200; i++) await driver.write(`small/${i}.txt`, randomBytes(4096));
  const statSeconds = await timed(async () => {
    for (let i = 0; i < 2000; i++) await driver.stat(`small/${i % 200}.txt`);
  });
  const readSeconds = await timed(async () => {
    for (let i = 0; i < 2000; i++) await drain(await driver.read(`small/${i % 200}.txt`));
  });
  return { stat: (statSeconds / 2000) * 1e6, read: (readSeconds / 2000) * 1e6 };
}

const work = await mkdtemp(join(tmpdir(), 'storaged-bench-library-'));
await mkdir(join(work, 'fs'));
try {
  const key = randomBytes(32);
  const disks = {
    fs: undefined,
    local: createLocalDriver({ driver: 'local', root: join(work, 'local') }, { diskName: 'local' }),
    encrypted: createEncryptedDriver(createLocalDriver({ driver: 'local', root: join(work, 'enc') }, { diskName: 'enc' }), { keys: { k1: key }, keyId: 'k1' }),
  };
  const results: Record<string, { write: number[]; read: number[] }> = {};
  for (let round = 0; round < rounds; round++) {
    for (const [name, driver] of Object.entries(disks)) {
      const r = await streamRound(join(work, 'fs'), driver, `${name}-${round}.bin`);
      (results[name] ??= { write: [], read: [] }).write.push(r.write);
      results[name].read.push(r.read);
    }
  }
  const fsWrite = median(results.fs!.write);
  const fsRead = median(results.fs!.read);
  console.log(`library bench: ${size / MiB} MiB streamed, ${rounds} rounds (medians), ${new Date().toISOString()}\n`);
  console.log('| through | write MB/s | read MB/s | write vs node:fs | read vs node:fs |\n|---|---|---|---|---|');
  for (const [name, r] of Object.entries(results)) {
    const w = median(r.write);
    const rd = median(r.read);
    console.log(`| ${name === 'fs' ? 'node:fs' : name} | ${w.toFixed(0)} | ${rd.toFixed(0)} | ${(w / fsWrite).toFixed(2)}x | ${(rd / fsRead).toFixed(2)}x |`);
  }
  const encryptedBytes = (await stat(join(work, 'enc', `encrypted-0.bin`))).size;
  console.log(`\nencrypted overhead on disk: ${(((encryptedBytes - size) / size) * 100).toFixed(2)}% of ${size / MiB} MiB`);

  const plain = createLocalDriver({ driver: 'local', root: join(work, 'small-local') }, { diskName: 'small' });
  const cached = createCachedDriver(createLocalDriver({ driver: 'local', root: join(work, 'small-cached') }, { diskName: 'small' }), {
    store: createMemoryCacheStore({ maxBytes: 64 * MiB }),
    ttlMs: 60_000,
  });
  const p = await smallRound(plain);
  const c = await smallRound(cached);
  console.log('\n| 4 KiB files, 2,000 ops | stat µs | read µs |\n|---|---|---|');
  console.log(`| local | ${p.stat.toFixed(0)} | ${p.read.toFixed(0)} |`);
  console.log(`| cached(local), memory store | ${c.stat.toFixed(0)} (${(p.stat / c.stat).toFixed(1)}x faster) | ${c.read.toFixed(0)} (${(p.read / c.read).toFixed(1)}x faster) |`);
  await Promise.all([disks.local.close(), disks.encrypted.close(), plain.close(), cached.close()]);
} finally {
  await rm(work, { recursive: true, force: true });
}
