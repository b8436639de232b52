import type { Client } from 'basic-ftp';
import { FsError } from '../../core/errors.js';
import { isFtpReply } from './errors.js';

/** One borrowed client. Exactly one of release/discard takes effect; later calls are ignored. */
export interface FtpLease {
  readonly client: Client;
  /** Give the client back for reuse (its control connection is in a known state). */
  release(): void;
  /** Close the client (state unknown: broken, or a transfer cut short) and free its slot. */
  discard(): void;
}

/** A pooled client idle this long is checked with NOOP before reuse. */
const IDLE_CHECK_MS = 15_000;

interface Waiter {
  count: number;
  resolve(leases: FtpLease[]): void;
  reject(err: unknown): void;
}

/**
 * A small pool of basic-ftp clients, at most `size` leased at once. Clients
 * connect lazily on first need; a client found closed (the server dropped
 * it) or discarded after an error is replaced by a fresh connection on the
 * next lease. Operations wait, in arrival order, for a free client. close()
 * closes every client, idle or leased, and fails waiting operations.
 */
export class FtpPool {
  private readonly idle: Client[] = [];
  private readonly idleSince = new Map<Client, number>();
  private readonly all = new Set<Client>();
  private readonly waiters: Waiter[] = [];
  private leased = 0;
  private closed = false;

  constructor(
    private readonly connect: () => Promise<Client>,
    readonly size: number,
    private readonly label: string,
  ) {}

  /** Number of clients currently leased (for tests and diagnostics). */
  get leasedCount(): number {
    return this.leased;
  }

  /** Number of open clients, idle or leased. */
  get openCount(): number {
    return this.all.size;
  }

  /** Waits for a free client (connecting one if needed). */
  async acquire(): Promise<FtpLease> {
    const [lease] = await this.acquireSlots(1);
    return lease as FtpLease;
  }

  /**
   * Two clients at once (copy streams from one into the other). Granted
   * together, so concurrent copies cannot deadlock each holding one. With a
   * pool of one, the second is a one-off connection closed after use.
   */
  async acquirePair(): Promise<[FtpLease, FtpLease]> {
    if (this.size >= 2) {
      const [first, second] = await this.acquireSlots(2);
      return [first as FtpLease, second as FtpLease];
    }
    const first = await this.acquire();
    try {
      const extra = await this.connect();
      if (this.closed) {
        extra.close();
        throw this.closedError();
      }
      this.all.add(extra);
      return [first, this.lease(extra, false)];
    } catch (err) {
      first.release();
      throw err;
    }
  }

  /**
   * Runs `fn` with a leased client. The client goes back to the pool when
   * `fn` settles, unless it closed or failed in a way that leaves its
   * control connection in an unknown state (anything but an FTP reply or
   * an FsError of our own), in which case it is discarded.
   */
  async use<T>(fn: (client: Client) => Promise<T>): Promise<T> {
    return runWithLease(await this.acquire(), fn);
  }

  /** True when a client that failed with `err` may be reused. */
  static leavesClientUsable(err: unknown): boolean {
    return isFtpReply(err) || (err instanceof FsError && !(err.cause instanceof Error && !isFtpReply(err.cause)));
  }

  /** Closes every client and fails every waiting operation. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const waiter of this.waiters.splice(0)) waiter.reject(this.closedError());
    for (const client of this.all) client.close();
    this.all.clear();
    this.idle.length = 0;
    this.idleSince.clear();
  }

  private acquireSlots(count: number): Promise<FtpLease[]> {
    if (this.closed) return Promise.reject(this.closedError());
    return new Promise<FtpLease[]>((resolve, reject) => {
      this.waiters.push({ count, resolve, reject });
      this.pump();
    });
  }

  /** Grants slots to waiters in arrival order while enough are free. */
  private pump(): void {
    while (!this.closed) {
      const head = this.waiters[0];
      if (!head || this.size - this.leased < head.count) return;
      this.waiters.shift();
      this.leased += head.count;
      void this.fill(head);
    }
  }

  private async fill(waiter: Waiter): Promise<void> {
    const results = await Promise.allSettled(Array.from({ length: waiter.count }, () => this.takeClient()));
    const leases: FtpLease[] = [];
    let failure: unknown;
    for (const result of results) {
      if (result.status === 'fulfilled') leases.push(this.lease(result.value, true));
      else {
        failure ??= result.reason;
        this.leased--;
      }
    }
    if (failure === undefined) return waiter.resolve(leases);
    for (const lease of leases) lease.release();
    this.pump();
    waiter.reject(failure);
  }

  /**
   * An idle open client, or a new connection. A client idle for longer than
   * IDLE_CHECK_MS answers a NOOP first: servers drop idle sessions, and a
   * drop racing with our next command would fail that command.
   */
  private async takeClient(): Promise<Client> {
    for (let client = this.idle.pop(); client; client = this.idle.pop()) {
      const idleSince = this.idleSince.get(client) ?? 0;
      this.idleSince.delete(client);
      if (!client.closed && (Date.now() - idleSince < IDLE_CHECK_MS || (await answersNoop(client)))) return client;
      this.all.delete(client);
      client.close();
    }
    const client = await this.connect();
    if (this.closed) {
      client.close();
      throw this.closedError();
    }
    this.all.add(client);
    return client;
  }

  private lease(client: Client, pooled: boolean): FtpLease {
    let done = false;
    const finish = (keep: boolean) => {
      if (done) return;
      done = true;
      if (keep && pooled && !this.closed && !client.closed) {
        this.idle.push(client);
        this.idleSince.set(client, Date.now());
      } else {
        this.all.delete(client);
        client.close();
      }
      if (pooled) {
        this.leased--;
        this.pump();
      }
    };
    return { client, release: () => finish(true), discard: () => finish(false) };
  }

  private closedError(): FsError {
    return new FsError('EIO', `ftp disk '${this.label}' is closed`, { op: 'pool' });
  }
}

/**
 * Runs `fn` with a leased client, then releases the lease, or discards it
 * when `fn` failed in a way that leaves the control connection in an unknown
 * state (see FtpPool.leavesClientUsable) or the client closed.
 */
export async function runWithLease<T>(lease: FtpLease, fn: (client: Client) => Promise<T>): Promise<T> {
  try {
    const result = await fn(lease.client);
    lease.release();
    return result;
  } catch (err) {
    if (FtpPool.leavesClientUsable(err) && !lease.client.closed) lease.release();
    else lease.discard();
    throw err;
  }
}

async function answersNoop(client: Client): Promise<boolean> {
  try {
    await client.send('NOOP');
    return true;
  } catch {
    return false;
  }
}
