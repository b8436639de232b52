import { createServer, request, Agent, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { Transform } from 'node:stream';

/**
 * A small HTTP proxy for the write-back workloads: 127.0.0.1:port in front
 * of s3rver on 127.0.0.1:targetPort. It forwards every request faithfully
 * (method, URL and headers as sent, so signatures still match; bodies
 * streamed both ways, never buffered whole) and
 * - counts what the client uploads: the body bytes of PUT and POST requests
 *   (PutObject, UploadPart, multipart XML; a CopyObject has no body), and
 *   how many requests were copies (`x-amz-copy-source`);
 * - optionally plays a slow backend: waits delayMs before forwarding each
 *   request, and lets bodies through at bytesPerSecond per direction (one
 *   link shared by all connections, as a slow uplink would be).
 * It injects no faults (test/support/fault-proxy.ts does that for tests).
 */
export interface BenchProxyOptions {
  /** The port of s3rver on 127.0.0.1. */
  targetPort: number;
  /** Wait before each request is forwarded, ms; default 0. */
  delayMs?: number;
  /** Body throughput per direction, bytes per second; default unlimited. */
  bytesPerSecond?: number;
}

/** What went through the proxy so far. */
export interface ProxyCounters {
  /** Requests received. */
  requests: number;
  /** Body bytes of PUT and POST requests forwarded to s3rver. */
  uploadedBytes: number;
  /** PUT requests with `x-amz-copy-source` (server-side copies). */
  copies: number;
}

/** A running bench proxy. */
export interface BenchProxy {
  /** http://127.0.0.1:PORT */
  readonly endpoint: string;
  /** A snapshot of the counters. */
  counters(): ProxyCounters;
  /** Stops listening and drops every open connection. */
  close(): Promise<void>;
}

/** Headers that describe one hop's connection, not the message; never passed on. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'proxy-authorization', 'te', 'trailer', 'upgrade', 'expect']);

/** One direction of a slow link: chunks leave once the link has had the time to carry them. */
class Link {
  private freeAtMs = 0;
  constructor(private readonly bytesPerMs: number) {}

  /** Reserves the link for `bytes`; returns how long to wait (ms) before those bytes are through. */
  reserve(bytes: number): number {
    const now = performance.now();
    this.freeAtMs = Math.max(now, this.freeAtMs) + bytes / this.bytesPerMs;
    return this.freeAtMs - now;
  }
}

/** A pass-through stream that reports each chunk's size and holds it back for the link's time (no link: at once). */
function meter(link: Link | null, onBytes: (bytes: number) => void): Transform {
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      onBytes(chunk.length);
      const wait = link ? link.reserve(chunk.length) : 0;
      if (wait < 1) done(null, chunk);
      else setTimeout(() => done(null, chunk), wait);
    },
  });
}

/** The headers of a message minus those that belong to one connection. */
function passOn(headers: IncomingHttpHeaders): IncomingHttpHeaders {
  const out: IncomingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined && !HOP_BY_HOP.has(name)) out[name] = value;
  }
  return out;
}

/** Starts a proxy in front of 127.0.0.1:targetPort on a free port of 127.0.0.1. */
export async function startBenchProxy(options: BenchProxyOptions): Promise<BenchProxy> {
  const delayMs = options.delayMs ?? 0;
  const up = options.bytesPerSecond ? new Link(options.bytesPerSecond / 1000) : null;
  const down = options.bytesPerSecond ? new Link(options.bytesPerSecond / 1000) : null;
  const counters: ProxyCounters = { requests: 0, uploadedBytes: 0, copies: 0 };
  // No keep-alive towards s3rver: an idle socket it closed would turn into a spurious error for the client.
  const agent = new Agent({ keepAlive: false });
  const sockets = new Set<Socket>();

  const forward = (req: IncomingMessage, res: ServerResponse) => {
    const uploading = req.method === 'PUT' || req.method === 'POST';
    const upstream = request({ host: '127.0.0.1', port: options.targetPort, method: req.method, path: req.url, headers: passOn(req.headers), agent });
    upstream.on('response', (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.statusMessage, passOn(answer.headers));
      answer.pipe(meter(down, () => {})).pipe(res);
      // s3rver died mid-answer: the client must see a broken connection, not a short body.
      answer.once('close', () => {
        if (!answer.complete) req.socket.destroy();
      });
    });
    upstream.on('error', () => req.socket.destroy());
    res.once('close', () => {
      if (!res.writableFinished) upstream.destroy();
    });
    req.pipe(meter(up, (bytes) => (counters.uploadedBytes += uploading ? bytes : 0))).pipe(upstream);
  };

  const server = createServer((req, res) => {
    counters.requests++;
    if (req.method === 'PUT' && req.headers['x-amz-copy-source'] !== undefined) counters.copies++;
    if (delayMs > 0) setTimeout(() => forward(req, res), delayMs);
    else forward(req, res);
  });
  // Clients keep their connections as long as they like; big uploads through a slow link take their time.
  server.keepAliveTimeout = 0;
  server.requestTimeout = 0;
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  server.on('clientError', (_err, socket: Socket) => socket.destroy());
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  if (typeof address !== 'object' || address === null) throw new Error('the bench proxy has no TCP address');
  return {
    endpoint: `http://127.0.0.1:${address.port}`,
    counters: () => ({ ...counters }),
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      await closed;
      agent.destroy();
    },
  };
}
