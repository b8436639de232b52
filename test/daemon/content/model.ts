import { expect } from 'vitest';
import type { FileContent } from '../../../src/daemon/content/types.js';
import { expectBytes, patternBytes, randomInts } from './harness.js';

/** A Buffer model of a file, changed the way POSIX write/truncate change files. */
export class Model {
  constructor(public bytes: Buffer) {}
  write(offset: number, data: Buffer): void {
    const end = offset + data.length;
    if (end > this.bytes.length) this.bytes = Buffer.concat([this.bytes, Buffer.alloc(end - this.bytes.length)]);
    data.copy(this.bytes, offset);
  }
  truncate(size: number): void {
    this.bytes = size <= this.bytes.length ? Buffer.from(this.bytes.subarray(0, size)) : Buffer.concat([this.bytes, Buffer.alloc(size - this.bytes.length)]);
  }
}

/** Random writes, appends, truncates and reads, each read checked against the model. */
export async function exercise(content: FileContent, model: Model, seed: number, steps: number, blockSize: number): Promise<void> {
  const random = randomInts(seed);
  for (let step = 0; step < steps; step++) {
    const size = model.bytes.length;
    const choice = random(10);
    if (choice < 4) {
      const offset = random(size + 2 * blockSize);
      const data = patternBytes(1 + random(2 * blockSize), seed * 1000 + step);
      await content.write(offset, data);
      model.write(offset, data);
    } else if (choice < 6) {
      const data = patternBytes(1 + random(blockSize), seed * 2000 + step);
      await content.write(size, data);
      model.write(size, data);
    } else if (choice < 7) {
      const target = random(2) === 0 ? random(size + 1) : size + random(3 * blockSize);
      await content.truncate(target);
      model.truncate(target);
    } else {
      const offset = random(size + 10);
      const length = random(3 * blockSize);
      const end = Math.min(size, offset + length);
      expectBytes(await content.read(offset, length), model.bytes.subarray(Math.min(offset, size), Math.max(end, Math.min(offset, size))));
    }
    expect(content.size()).toBe(model.bytes.length);
  }
  expectBytes(await content.read(0, model.bytes.length + 100), model.bytes);
}
