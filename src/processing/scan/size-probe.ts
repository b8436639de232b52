import { connect } from 'node:net';
import type { ClamdSocket } from './types.js';

const MAX_CHUNK_LENGTH = 0xffffffff;

/**
 * Asks clamd whether `announcedBytes` is over its StreamMaxLength, without
 * sending them: a fresh connection announces one INSTREAM chunk of that
 * length and half-closes. clamd checks a chunk's length against its limit
 * as soon as it reads the length, so it answers "INSTREAM size limit
 * exceeded" at once, or (within the limit) sees the end of input and closes.
 *
 * Why: when clamd refuses the size mid-stream it answers and closes with our
 * unread bytes pending, which resets the connection; a write racing that
 * reset can lose the answer. Resolves false on any doubt (error, timeout).
 */
export function exceedsStreamLimit(socket: ClamdSocket, announcedBytes: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = connect({ ...socket, allowHalfOpen: true });
    let answer = '';
    const settle = (result: boolean) => {
      clearTimeout(timer);
      probe.destroy();
      resolve(result);
    };
    const timer = setTimeout(() => settle(false), timeoutMs);
    probe.on('connect', () => {
      const header = Buffer.alloc(4);
      header.writeUInt32BE(Math.min(announcedBytes, MAX_CHUNK_LENGTH), 0);
      probe.end(Buffer.concat([Buffer.from('zINSTREAM\0', 'latin1'), header]));
    });
    probe.on('data', (chunk: Buffer) => {
      answer += chunk.toString('latin1');
      if (answer.length > 8192) settle(false);
    });
    probe.on('end', () => settle(/size limit exceeded/i.test(answer)));
    probe.on('close', () => settle(/size limit exceeded/i.test(answer)));
    probe.on('error', () => settle(/size limit exceeded/i.test(answer)));
  });
}
