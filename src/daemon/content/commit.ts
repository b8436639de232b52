import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { FsError } from '../../core/errors.js';
import type { StorageDriver, WriteResult } from '../../drivers/types.js';
import type { BlockRef } from '../meta/types.js';
import { blockCount } from './binding.js';

/** What uploadContent needs. */
export interface UploadRequest {
  driver: StorageDriver;
  /**
   * Stores a block and resolves to its sha256 hex (BlockStore.put, or only
   * hashing when the caller stores it later), or to undefined when it was
   * not stored (the cache disk is full): the upload goes on, and the block
   * is left out of the block map.
   */
  putBlock: (data: Buffer) => Promise<string | undefined>;
  key: string;
  metadata: Record<string, string>;
  /** Total bytes to upload. */
  size: number;
  blockSize: number;
  /** The bytes of block `index` (exactly min(blockSize, size - index * blockSize) bytes). */
  readBlock: (index: number) => Promise<Buffer>;
  /** Blocks read ahead of the one being sent (default 1); bounds memory to about lookahead + 2 blocks. */
  lookahead?: number;
  /** Aborts the upload (passed to the driver; no further block is produced). */
  signal?: AbortSignal;
}

/** What an upload produced, before anything local changes. */
export interface Uploaded {
  result: WriteResult;
  /** The new block map (every block in it is in the store; blocks not stored are left out). */
  refs: BlockRef[];
  /** sha256 hex of the whole content. */
  contentHash: string;
}

/**
 * Streams a file's content to `key` with one driver.write, block by block in
 * order (the next `lookahead` blocks are read while the current one is being
 * sent, so only a few blocks are in memory), passing every block to
 * putBlock and hashing the whole content along the way. Rejects with the driver's
 * FsError (or the one that failed producing a block); the caller changes
 * nothing local unless this resolves.
 */
export async function uploadContent(request: UploadRequest): Promise<Uploaded> {
  const { driver, key, metadata, size } = request;
  const produced = produceBlocks(request);
  const { signal } = request;
  const result = await driver.write(key, Readable.from(produced.chunks(), { objectMode: false }), { metadata, size, ...(signal ? { signal } : {}) });
  signal?.throwIfAborted();
  const { refs, contentHash, bytes } = await produced.finished();
  if (bytes !== size || result.size !== size) {
    throw new FsError('EIO', `commit '${key}': uploaded ${result.size} bytes (streamed ${bytes}) where ${size} were expected`, {
      path: key,
      op: 'commit',
    });
  }
  return { result, refs, contentHash };
}

interface BlockProducer {
  chunks(): AsyncGenerator<Buffer>;
  /** The block map, hash and byte count of what was produced, once every produced block is stored. */
  finished(): Promise<{ refs: BlockRef[]; contentHash: string; bytes: number }>;
}

function produceBlocks(request: UploadRequest): BlockProducer {
  const count = blockCount(request.size, request.blockSize);
  const hash = createHash('sha256');
  const refs: BlockRef[] = [];
  let bytes = 0;
  // The put of the previous block runs while the current one is sent; its failure is kept for later.
  let storing: Promise<void> = Promise.resolve();
  let storeError: { error: unknown } | undefined;

  const store = (index: number, data: Buffer): void => {
    storing = storing.then(
      () =>
        request.putBlock(data).then(
          (blockHash) => {
            if (blockHash !== undefined) refs.push({ index, hash: blockHash, size: data.length });
          },
          (error: unknown) => void (storeError ??= { error }),
        ),
    );
  };

  const lookahead = Math.max(1, request.lookahead ?? 1);
  const reading: Array<Promise<Buffer>> = [];
  let nextToRead = 0;
  const readAhead = (): void => {
    while (nextToRead < count && reading.length <= lookahead) reading.push(quiet(request.readBlock(nextToRead++)));
  };

  async function* chunks(): AsyncGenerator<Buffer> {
    for (let index = 0; index < count; index++) {
      request.signal?.throwIfAborted();
      readAhead();
      const data = await reading.shift()!;
      readAhead();
      await storing;
      if (storeError !== undefined) throw storeError.error;
      hash.update(data);
      bytes += data.length;
      store(index, data);
      yield data;
    }
    await storing;
    if (storeError !== undefined) throw storeError.error;
  }

  return {
    chunks,
    async finished() {
      await storing;
      if (storeError !== undefined) throw storeError.error;
      return { refs, contentHash: hash.digest('hex'), bytes };
    },
  };
}

/** The same promise, marked handled so that a read abandoned by a failed upload does not crash the process. */
function quiet<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => undefined);
  return promise;
}
