import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { runInNewContext } from 'node:vm';
import { setFlagsFromString } from 'node:v8';
import { describe, expect, it } from 'vitest';
import { useDriver, type AreaContext } from './support.js';

/** Size of the big stream. */
export const LARGE_FILE_BYTES = 64 * 1024 * 1024;
/** Peak RSS growth allowed while writing and reading it back: far below the file size. */
export const MEMORY_GROWTH_LIMIT_BYTES = 40 * 1024 * 1024;
const CHUNK_BYTES = 256 * 1024;
/** Garbage is collected every this many bytes, so the RSS reflects what is retained, not lazily freed. */
const GC_EVERY_BYTES = 4 * 1024 * 1024;

/** A 64 MiB stream round-trip with equal sha256, in bounded memory. */
export function describeLargeFile({ fixture }: AreaContext): void {
  describe('large file', () => {
    const driver = useDriver(fixture);

    let growth: number | undefined;

    it('writes and reads back a 64 MiB stream with equal sha256', async () => {
      const meter = new MemoryMeter();
      const source = randomStream(LARGE_FILE_BYTES, () => meter.tick(CHUNK_BYTES));
      meter.start();
      const result = await driver().write('large/64MiB.bin', source.stream, { size: LARGE_FILE_BYTES });
      expect(result.size).toBe(LARGE_FILE_BYTES);
      expect(source.bytes()).toBe(LARGE_FILE_BYTES);

      const readHash = createHash('sha256');
      let readBytes = 0;
      for await (const chunk of await driver().read('large/64MiB.bin')) {
        readHash.update(chunk as Buffer);
        readBytes += (chunk as Buffer).length;
        meter.tick((chunk as Buffer).length);
      }
      growth = meter.stop();
      expect(readBytes).toBe(LARGE_FILE_BYTES);
      expect(readHash.digest('hex')).toBe(source.sha256());
      expect((await driver().stat('large/64MiB.bin')).size).toBe(LARGE_FILE_BYTES);
    }, 180_000);

    it(`keeps the process's memory growth under ${MEMORY_GROWTH_LIMIT_BYTES / 1024 / 1024} MiB during that round trip`, async (ctx) => {
      if (growth !== undefined) await ctx.annotate(`peak RSS growth ${mib(growth)}`);
      ctx.skip(driver().capabilities.inProcess, 'capabilities.inProcess: the data lives in this process, so its memory grows by design');
      expect(growth, 'the round trip above did not complete').toBeDefined();
      expect(growth, `peak RSS growth ${mib(growth ?? 0)}`).toBeLessThan(MEMORY_GROWTH_LIMIT_BYTES);
    });

    it('reads a range that overruns the end of the 64 MiB file, clamped', async () => {
      const tail = await driver().read('large/64MiB.bin', { range: { offset: LARGE_FILE_BYTES - 10, length: 100 } });
      let count = 0;
      for await (const chunk of tail) count += (chunk as Buffer).length;
      expect(count).toBe(10);
    });
  });
}

/** A stream of `total` random bytes made on demand, hashed as it is produced. */
function randomStream(total: number, onChunk: () => void): { stream: Readable; sha256(): string; bytes(): number } {
  const hash = createHash('sha256');
  let produced = 0;
  let digest: string | undefined;
  const stream = new Readable({
    read() {
      onChunk();
      if (produced >= total) {
        this.push(null);
        return;
      }
      const chunk = randomBytes(Math.min(CHUNK_BYTES, total - produced));
      produced += chunk.length;
      hash.update(chunk);
      this.push(chunk);
    },
  });
  return {
    stream,
    bytes: () => produced,
    sha256: () => (digest ??= hash.digest('hex')),
  };
}

/**
 * Peak RSS above a baseline, sampled every 20 ms and at every tick. Ticks
 * also force a garbage collection every few MiB (when the engine allows it),
 * so the peak measures memory held, not garbage V8 has not got round to.
 */
class MemoryMeter {
  private readonly gc = obtainGc();
  private baseline = 0;
  private peak = 0;
  private sinceGc = 0;
  private timer: NodeJS.Timeout | undefined;

  start(): void {
    this.gc?.();
    this.baseline = process.memoryUsage().rss;
    this.peak = this.baseline;
    this.timer = setInterval(() => this.sample(), 20);
  }

  tick(bytes: number): void {
    this.sinceGc += bytes;
    if (this.sinceGc >= GC_EVERY_BYTES) {
      this.sinceGc = 0;
      this.gc?.();
    }
    this.sample();
  }

  /** Stops sampling; returns the peak growth in bytes. */
  stop(): number {
    clearInterval(this.timer);
    this.sample();
    return this.peak - this.baseline;
  }

  private sample(): void {
    this.peak = Math.max(this.peak, process.memoryUsage().rss);
  }
}

/** The engine's gc(), exposing it at runtime when node was started without --expose-gc. */
function obtainGc(): (() => void) | undefined {
  const existing = (globalThis as { gc?: () => void }).gc;
  if (typeof existing === 'function') return existing;
  try {
    setFlagsFromString('--expose-gc');
    const gc: unknown = runInNewContext('gc');
    return typeof gc === 'function' ? (gc as () => void) : undefined;
  } catch {
    return undefined;
  }
}

function mib(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}
