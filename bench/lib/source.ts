import { createHash, randomFillSync } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { mkdir, open, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SourceFile } from './context.js';

async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 2 ** 20 })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/**
 * The random file that sequential writes copy into each mount, generated
 * once per size in the temp folder and kept for later runs (with its sha256
 * beside it), so no run pays for random generation inside a timing.
 */
export async function ensureSourceFile(size: number): Promise<SourceFile> {
  const path = join(tmpdir(), `storaged-bench-source-${size}.bin`);
  const hashPath = `${path}.sha256`;
  if (existsSync(path) && existsSync(hashPath) && (await stat(path)).size === size) {
    return { path, size, sha256: (await readFile(hashPath, 'utf8')).trim() };
  }
  const partial = `${path}.partial`;
  const handle = await open(partial, 'w');
  try {
    const chunk = Buffer.alloc(2 ** 20);
    for (let written = 0; written < size; ) {
      const n = Math.min(chunk.length, size - written);
      randomFillSync(chunk, 0, n);
      await handle.write(chunk, 0, n);
      written += n;
    }
  } finally {
    await handle.close();
  }
  await rename(partial, path);
  const sha256 = await sha256File(path);
  await writeFile(hashPath, sha256 + '\n');
  return { path, size, sha256 };
}

/** Creates `count` small files `dir/NNNNN.txt` on the local disk (the listing baseline). */
export async function seedLocalFolder(dir: string, count: number): Promise<void> {
  await mkdir(dir, { recursive: true });
  for (let i = 0; i < count; i++) {
    const name = String(i).padStart(5, '0');
    await writeFile(join(dir, `${name}.txt`), `entry ${name}\n`);
  }
}
