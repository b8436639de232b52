import { connect, type Socket } from 'node:net';
import type { FsError } from '../../core/errors.js';
import { scanFailure, socketFailure } from './failure.js';
import type { ClamdSocket } from './types.js';

/** Who is being talked to, and about which file: for error messages. */
export interface ClamdPeer {
  socket: ClamdSocket;
  name?: string | undefined;
}

/** How a connection ended: clamd's answer text (without NUL), and the socket error if any. */
interface Outcome {
  text: string;
  error?: unknown;
}

/** clamd's answers are one short line; more than this is not clamd. */
const MAX_ANSWER_BYTES = 8192;

/**
 * One connection to clamd for one command. It collects clamd's answer (up to
 * its NUL, or until the connection ends) from the moment it connects, so an
 * answer sent while the client is still writing (the size limit) is never
 * lost. Every wait on clamd is bounded by `timeoutMs` of no progress.
 */
export class ClamdConnection {
  private readonly socket: Socket;
  private readonly received: Buffer[] = [];
  private receivedBytes = 0;
  private outcome: Outcome | undefined;
  private connected = false;
  private readonly wakers = new Set<() => void>();

  private constructor(
    private readonly peer: ClamdPeer,
    private readonly timeoutMs: number,
  ) {
    const target = peer.socket;
    this.socket = 'path' in target ? connect({ path: target.path }) : connect({ host: target.host, port: target.port });
    this.socket.setNoDelay(true);
    this.socket.once('connect', () => (this.connected = true));
    this.socket.on('data', (chunk: Buffer) => this.receive(chunk));
    this.socket.on('end', () => this.finish());
    this.socket.on('close', () => this.finish());
    this.socket.on('error', (error) => this.finish(error));
  }

  /** Connects to clamd; rejects ECONNREFUSED, ETIMEDOUT (after timeoutMs) or EIO. */
  static async open(peer: ClamdPeer, timeoutMs: number): Promise<ClamdConnection> {
    const connection = new ClamdConnection(peer, timeoutMs);
    try {
      await connection.waitFor('connect', 'accept the connection');
      if (!connection.connected) throw connection.failure();
    } catch (err) {
      connection.close();
      throw err;
    }
    return connection;
  }

  /** True once clamd answered or the connection ended: nothing more can be sent. */
  get finished(): boolean {
    return this.outcome !== undefined;
  }

  /**
   * Sends `buffers` together and resolves once the socket can take more
   * (backpressure), or at once when the connection already finished. Rejects
   * ETIMEDOUT when clamd accepts nothing for timeoutMs.
   */
  async write(...buffers: Uint8Array[]): Promise<void> {
    if (this.outcome) return;
    this.socket.cork();
    for (const buffer of buffers) this.socket.write(buffer);
    this.socket.uncork();
    if (this.socket.writableNeedDrain) await this.waitFor('drain', 'accept more data');
  }

  /**
   * clamd's answer, without its NUL terminator: waits up to timeoutMs for it.
   * Rejects with the socket's failure when the connection broke before any
   * answer arrived; an empty string means clamd closed without answering.
   */
  async answer(): Promise<string> {
    if (!this.outcome) await this.waitFor(undefined, 'answer');
    const outcome = this.outcome as Outcome;
    if (outcome.text.length === 0 && outcome.error !== undefined) throw this.failure();
    return outcome.text;
  }

  /** Closes the socket at once (always call when done). */
  close(): void {
    this.socket.destroy();
  }

  private failure(): FsError {
    const outcome = this.outcome;
    if (outcome?.error !== undefined) return socketFailure(outcome.error, this.peer);
    return scanFailure('EIO', 'clamd closed the connection without an answer', this.peer);
  }

  /** Waits for `event` (or only for the end when undefined), the end of the connection, or timeoutMs. */
  private waitFor(event: 'connect' | 'drain' | undefined, what: string): Promise<void> {
    if (this.outcome) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const done = () => {
        clearTimeout(timer);
        if (event) this.socket.off(event, done);
        this.wakers.delete(done);
        resolve();
      };
      const timer = setTimeout(() => {
        if (event) this.socket.off(event, done);
        this.wakers.delete(done);
        reject(scanFailure('ETIMEDOUT', `clamd did not ${what} within ${this.timeoutMs} ms`, this.peer));
      }, this.timeoutMs);
      if (event) this.socket.once(event, done);
      this.wakers.add(done);
    });
  }

  private receive(chunk: Buffer): void {
    if (this.outcome) return;
    const end = chunk.indexOf(0);
    const kept = end >= 0 ? chunk.subarray(0, end) : chunk;
    this.received.push(kept);
    this.receivedBytes += kept.length;
    if (end >= 0 || this.receivedBytes > MAX_ANSWER_BYTES) this.finish();
  }

  private finish(error?: unknown): void {
    if (this.outcome) return;
    const text = Buffer.concat(this.received).toString('utf8');
    this.outcome = error === undefined ? { text } : { text, error };
    for (const wake of [...this.wakers]) wake();
  }
}
