import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { expectSameBytes, pattern, perms, type SuiteContext } from './context.js';

const KiB = 1024;
const MiB = 1024 * KiB;
/** The tests' block_size (backends.ts): offsets below straddle it. */
const BLOCK = 64 * KiB;

/** File content: create, write, read, overwrite, append, offsets, sparse, truncate, large. */
export function fileCases(ctx: SuiteContext): void {
  describe('file content', () => {
    it('creates, writes and reads a file', async () => {
      const fs = ctx.fs();
      const dir = await ctx.scratch('create');
      await fs.writeFile(`${dir}/a.txt`, 'hello');
      expect((await fs.readFile(`${dir}/a.txt`)).toString()).toBe('hello');
      const st = await fs.stat(`${dir}/a.txt`);
      expect(st.isFile()).toBe(true);
      expect(st.size).toBe(5);
      expect(st.nlink).toBe(1);
      expect(perms(st.mode)).toBe(0o644);
    });

    it('creates an empty file', async () => {
      const fs = ctx.fs();
      const dir = await ctx.scratch('empty');
      await fs.writeFile(`${dir}/e`, '');
      expect((await fs.readFile(`${dir}/e`)).length).toBe(0);
      expect((await fs.stat(`${dir}/e`)).size).toBe(0);
    });

    it('overwrites with shorter and longer content', async () => {
      const fs = ctx.fs();
      const dir = await ctx.scratch('overwrite');
      await fs.writeFile(`${dir}/f`, 'hello world');
      await fs.writeFile(`${dir}/f`, 'bye');
      expect((await fs.readFile(`${dir}/f`)).toString()).toBe('bye');
      expect((await fs.stat(`${dir}/f`)).size).toBe(3);
      const big = pattern(200 * KiB, 7);
      await fs.writeFile(`${dir}/f`, big);
      expectSameBytes(await fs.readFile(`${dir}/f`), big, 'longer overwrite');
    });

    it('appends with appendFile and with an O_APPEND handle', async () => {
      const fs = ctx.fs();
      const dir = await ctx.scratch('append');
      await fs.writeFile(`${dir}/f`, 'a');
      await fs.appendFile(`${dir}/f`, 'bc');
      await fs.appendFile(`${dir}/f`, 'd');
      expect((await fs.readFile(`${dir}/f`)).toString()).toBe('abcd');
      const h = await fs.open(`${dir}/f`, 'a');
      await h.write(Buffer.from('XY'), 0); // O_APPEND: the position is ignored
      await h.close();
      expect((await fs.readFile(`${dir}/f`)).toString()).toBe('abcdXY');
      await fs.appendFile(`${dir}/new`, 'created by append');
      expect((await fs.readFile(`${dir}/new`)).toString()).toBe('created by append');
    });

    it('writes at offsets, across block boundaries', async () => {
      const fs = ctx.fs();
      const dir = await ctx.scratch('offsets');
      const h = await fs.open(`${dir}/f`, 'w+');
      await h.write(Buffer.from('AAAA'), 0);
      await h.write(Buffer.from('BB'), 1);
      expect((await h.read(10, 0)).toString()).toBe('ABBA');
      let model = Buffer.concat([Buffer.from('ABBA'), pattern(3 * BLOCK, 3)]);
      await h.write(model.subarray(4), 4);
      const patch = pattern(100, 9);
      // Inside block 0/1, straddling 1/2, and past the end of file (extending it).
      for (const at of [BLOCK - 50, 2 * BLOCK - 1, 3 * BLOCK + 30]) {
        await h.write(patch, at);
        if (at + patch.length > model.length) model = Buffer.concat([model, Buffer.alloc(at + patch.length - model.length)]);
        patch.copy(model, at);
      }
      expectSameBytes(await h.read(model.length + 10, 0), model, 'through the writing handle');
      await h.close();
      expectSameBytes(await fs.readFile(`${dir}/f`), model, 'after close');
    });

    it('rewrites the middle of an existing file through r+ and keeps the rest', async () => {
      const fs = ctx.fs();
      const dir = await ctx.scratch('rplus');
      const original = pattern(3 * BLOCK + 123, 11);
      await fs.writeFile(`${dir}/f`, original);
      const h = await fs.open(`${dir}/f`, 'r+');
      const patch = Buffer.alloc(BLOCK, 0x5a);
      await h.write(patch, BLOCK + 10);
      await h.close();
      const expected = Buffer.from(original);
      patch.copy(expected, BLOCK + 10);
      expectSameBytes(await fs.readFile(`${dir}/f`), expected, 'patched file');
      expect((await fs.stat(`${dir}/f`)).size).toBe(original.length);
    });

    it('extends a file sparsely: the hole reads as zeros', async () => {
      const fs = ctx.fs();
      const dir = await ctx.scratch('sparse');
      const h = await fs.open(`${dir}/f`, 'w');
      await h.write(Buffer.from('head'), 0);
      await h.write(Buffer.from('x'), MiB + 7);
      await h.close();
      expect((await fs.stat(`${dir}/f`)).size).toBe(MiB + 8);
      const r = await fs.open(`${dir}/f`, 'r');
      expect((await r.read(4, 0)).toString()).toBe('head');
      expect((await r.read(1000, 500 * KiB)).equals(Buffer.alloc(1000))).toBe(true);
      expect((await r.read(10, MiB + 6)).equals(Buffer.from([0, 0x78]))).toBe(true);
      await r.close();
    });

    it('truncates: shrink, then extend with zeros, by path and through a handle', async () => {
      const fs = ctx.fs();
      const dir = await ctx.scratch('truncate');
      const data = pattern(100 * KiB, 5);
      await fs.writeFile(`${dir}/f`, data);
      await fs.truncate(`${dir}/f`, 70_000);
      expect((await fs.stat(`${dir}/f`)).size).toBe(70_000);
      expectSameBytes(await fs.readFile(`${dir}/f`), data.subarray(0, 70_000), 'shrunk');
      await fs.truncate(`${dir}/f`, 200_000);
      const extended = Buffer.concat([data.subarray(0, 70_000), Buffer.alloc(130_000)]);
      expectSameBytes(await fs.readFile(`${dir}/f`), extended, 'extended');
      const h = await fs.open(`${dir}/f`, 'r+');
      await h.truncate(10);
      expect((await h.stat()).size).toBe(10);
      await h.write(Buffer.from('!'), 20);
      await h.close();
      const expected = Buffer.concat([data.subarray(0, 10), Buffer.alloc(10), Buffer.from('!')]);
      expectSameBytes(await fs.readFile(`${dir}/f`), expected, 'ftruncate then write past the end');
      await fs.truncate(`${dir}/f`, 0);
      expect((await fs.readFile(`${dir}/f`)).length).toBe(0);
    });

    it('O_TRUNC on open empties an existing file', async () => {
      const fs = ctx.fs();
      const dir = await ctx.scratch('otrunc');
      await fs.writeFile(`${dir}/f`, pattern(5000));
      const h = await fs.open(`${dir}/f`, 'w');
      expect((await h.stat()).size).toBe(0);
      await h.write(Buffer.from('new'), 0);
      await h.close();
      expect((await fs.readFile(`${dir}/f`)).toString()).toBe('new');
    });

    it('streams a 20 MiB file in and out with the same sha256', { timeout: 180_000 }, async () => {
      const fs = ctx.fs();
      const dir = await ctx.scratch('large');
      const chunk = MiB;
      const written = createHash('sha256');
      const w = await fs.open(`${dir}/big.bin`, 'w');
      for (let i = 0; i < 20; i++) {
        const piece = pattern(chunk, i + 1);
        written.update(piece);
        await w.write(piece, i * chunk);
      }
      await w.close();
      expect((await fs.stat(`${dir}/big.bin`)).size).toBe(20 * MiB);
      const read = createHash('sha256');
      const r = await fs.open(`${dir}/big.bin`, 'r');
      let total = 0;
      for (;;) {
        const piece = await r.read(chunk, total);
        if (piece.length === 0) break;
        read.update(piece);
        total += piece.length;
      }
      await r.close();
      expect(total).toBe(20 * MiB);
      expect(read.digest('hex')).toBe(written.digest('hex'));
    });

    it('shows written data to another reader before the writer closes', async () => {
      const fs = ctx.fs();
      const dir = await ctx.scratch('visible');
      const w = await fs.open(`${dir}/f`, 'w');
      await w.write(Buffer.from('partial'), 0);
      expect((await fs.readFile(`${dir}/f`)).toString()).toBe('partial');
      const r = await fs.open(`${dir}/f`, 'r');
      await w.write(Buffer.from(' and more'), 7);
      expect((await r.read(100, 0)).toString()).toBe('partial and more');
      expect((await fs.stat(`${dir}/f`)).size).toBe(16);
      await r.close();
      await w.close();
      expect((await fs.readFile(`${dir}/f`)).toString()).toBe('partial and more');
    });
  });
}
