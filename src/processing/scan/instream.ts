import type { Readable } from 'node:stream';
import type { ClamdConnection, ClamdPeer } from './connection.js';
import { scanFailure } from './failure.js';

const INSTREAM_COMMAND = Buffer.from('zINSTREAM\0', 'latin1');
const END_OF_STREAM = Buffer.alloc(4);

/** How to frame a source for INSTREAM. */
export interface InstreamOptions {
  /** Bytes per chunk frame. */
  chunkBytes: number;
  /** Refuse (EFBIG) a source larger than this, before sending the excess. */
  maxStreamBytes?: number | undefined;
  peer: ClamdPeer;
}

/** What sendInstream got through: the chunk lengths it announced, in total. */
export interface InstreamProgress {
  announcedBytes: number;
}

/**
 * Sends `zINSTREAM\0`, then the source as `[uint32 BE length][bytes]` frames
 * of at most chunkBytes, then the zero-length terminator, waiting for the
 * socket to drain between frames so at most a socket buffer is in memory.
 * Stops sending, without error, as soon as clamd answers early (its size
 * limit): the caller reads that answer. Breaking off destroys a Readable.
 */
export async function sendInstream(
  connection: ClamdConnection,
  source: Readable | Uint8Array,
  options: InstreamOptions,
  progress: InstreamProgress,
): Promise<void> {
  await connection.write(INSTREAM_COMMAND);
  let total = 0;
  for await (const piece of piecesOf(source)) {
    if (connection.finished) return;
    total += piece.length;
    if (options.maxStreamBytes !== undefined && total > options.maxStreamBytes) {
      throw scanFailure('EFBIG', `the file is larger than the ${options.maxStreamBytes}-byte stream limit`, options.peer);
    }
    for (let offset = 0; offset < piece.length && !connection.finished; offset += options.chunkBytes) {
      const frame = piece.subarray(offset, offset + options.chunkBytes);
      progress.announcedBytes += frame.length;
      await connection.write(lengthPrefix(frame.length), frame);
    }
  }
  await connection.write(END_OF_STREAM);
}

/** The source's bytes as Uint8Array pieces (a string chunk is taken as UTF-8). */
async function* piecesOf(source: Readable | Uint8Array): AsyncGenerator<Uint8Array> {
  if (source instanceof Uint8Array) {
    yield source;
    return;
  }
  for await (const chunk of source as AsyncIterable<unknown>) {
    yield typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : (chunk as Uint8Array);
  }
}

function lengthPrefix(length: number): Buffer {
  const header = Buffer.allocUnsafe(4);
  header.writeUInt32BE(length, 0);
  return header;
}
