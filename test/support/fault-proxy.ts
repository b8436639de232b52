import { createServer, request, Agent, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { seededRandom } from './random.js';

/**
 * An HTTP-aware fault-injecting proxy for tests: 127.0.0.1:port in front of
 * an HTTP server (s3rver) on 127.0.0.1:targetPort. Per request it either
 * resets the client's connection, answers 500/503 itself with an S3-style
 * XML error, or forwards the request faithfully: method, URL and headers
 * as sent (Host included, so signatures still match), bodies streamed both
 * ways and never buffered whole, Content-Length or chunked framing kept.
 *
 * Faults are drawn from a seeded PRNG, one draw sequence per proxy in
 * request arrival order: a run that sends requests one at a time sees the
 * same faults every time; concurrent requests may arrive in another order.
 */
export interface FaultProxyOptions {
  /** The port of the real server on 127.0.0.1. */
  targetPort: number;
  /** Port to listen on; default 0 (the kernel picks, kept across down()/up()). */
  port?: number;
  /** PRNG seed; default 1. */
  seed?: number;
  /** Share of requests whose connection is reset (0..1); default 0. */
  resetRate?: number;
  /** Share of requests answered 500 InternalError or 503 SlowDown/ServiceUnavailable (0..1); default 0. */
  errorRate?: number;
  /**
   * When faults strike. 'before' (default): the request never reaches the
   * server, so a retry never repeats a write. 'any': half of the faults
   * strike after the server has answered (its answer is discarded), so a
   * PUT may land and still be retried, as with a real flaky network.
   */
  timing?: 'before' | 'any';
}

/** What the proxy did so far. */
export interface FaultCounters {
  /** Requests received (every attempt a client made through the proxy). */
  requests: number;
  /** Connections reset as an injected fault. */
  resets: number;
  /** 500/503 answers the proxy made up. */
  errors5xx: number;
  /** Requests sent on to the server (including those whose answer a late fault replaced). */
  forwarded: number;
  /** Of resets + errors5xx, those injected after the server had answered (timing 'any'). */
  lateFaults: number;
}

/** A running fault proxy. */
export interface FaultProxy {
  readonly port: number;
  /** http://127.0.0.1:PORT */
  readonly endpoint: string;
  /** A snapshot of the counters. */
  counters(): FaultCounters;
  /** Changes the fault rates from the next request on (e.g. 0, 0 to verify through the proxy). */
  setRates(rates: { resetRate?: number; errorRate?: number }): void;
  /**
   * A backend outage: stops listening (new connections are refused with
   * ECONNREFUSED) and resets every open connection (ECONNRESET). Resolves
   * once the port is closed. Beware: s3rver keeps whatever part of a PUT body
   * it had received when the connection drops (a truncated object under the
   * final name, which real S3 never stores), so an upload cut mid-body leaves
   * one there until it is retried.
   */
  down(): Promise<void>;
  /** Listens again on the same port. */
  up(): Promise<void>;
  /** Stops for good (as down()). */
  close(): Promise<void>;
}

type Fault = { kind: 'reset' } | { kind: 'error'; status: number; code: string; message: string };

/** The made-up server errors, drawn uniformly. */
const SERVER_ERRORS: Fault[] = [
  { kind: 'error', status: 500, code: 'InternalError', message: 'We encountered an internal error. Please try again.' },
  { kind: 'error', status: 503, code: 'SlowDown', message: 'Please reduce your request rate.' },
  { kind: 'error', status: 503, code: 'ServiceUnavailable', message: 'Service is unable to handle request.' },
];

/** Headers that describe one hop's connection, not the message; never passed on. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'proxy-authorization', 'te', 'trailer', 'upgrade', 'expect']);


/** Starts a fault proxy in front of 127.0.0.1:targetPort. */
export async function startFaultProxy(options: FaultProxyOptions): Promise<FaultProxy> {
  const random = seededRandom(options.seed ?? 1);
  let resetRate = options.resetRate ?? 0;
  let errorRate = options.errorRate ?? 0;
  const timing = options.timing ?? 'before';
  const counters: FaultCounters = { requests: 0, resets: 0, errors5xx: 0, forwarded: 0, lateFaults: 0 };
  // No keep-alive towards the server: a socket it closed while idle would show up as an extra, unplanned fault.
  const agent = new Agent({ keepAlive: false });
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  let port = options.port ?? 0;

  /** Draws this request's fate: a fault (and whether it strikes late) or undefined to forward. */
  const draw = (): { fault: Fault; late: boolean } | undefined => {
    const r = random();
    let fault: Fault | undefined;
    if (r < resetRate) fault = { kind: 'reset' };
    else if (r < resetRate + errorRate) fault = SERVER_ERRORS[Math.floor(random() * SERVER_ERRORS.length)];
    if (fault === undefined) return undefined;
    return { fault, late: timing === 'any' && random() < 0.5 };
  };

  const inject = (fault: Fault, req: IncomingMessage, res: ServerResponse) => {
    if (fault.kind === 'reset') {
      counters.resets++;
      req.socket.resetAndDestroy();
      return;
    }
    counters.errors5xx++;
    const body = errorXml(fault.code, fault.message, req.url ?? '/', counters.requests);
    // Read (and drop) what the client still sends first, as a server that failed while handling it would.
    const answer = () => {
      if (res.destroyed) return;
      res.writeHead(fault.status, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(body), 'x-amz-request-id': `fault-${counters.requests}` });
      res.end(body);
    };
    if (req.complete) answer();
    else {
      req.once('end', answer);
      req.resume();
    }
  };

  const forward = (req: IncomingMessage, res: ServerResponse, lateFault: Fault | undefined) => {
    counters.forwarded++;
    const upstream = request({
      host: '127.0.0.1',
      port: options.targetPort,
      method: req.method,
      path: req.url,
      headers: passOn(req.headers),
      agent,
    });
    upstream.on('response', (answer) => {
      if (lateFault !== undefined) {
        counters.lateFaults++;
        answer.resume();
        answer.once('end', () => inject(lateFault, req, res));
        return;
      }
      res.writeHead(answer.statusCode ?? 502, answer.statusMessage, passOn(answer.headers));
      answer.pipe(res);
      // The server died mid-answer: the client must see a broken connection, not a short body.
      answer.once('close', () => {
        if (!answer.complete) req.socket.destroy();
      });
    });
    // The server cannot be reached (or dropped the request): to the client that is a reset.
    upstream.on('error', () => req.socket.destroy());
    res.once('close', () => {
      if (!res.writableFinished) upstream.destroy();
    });
    req.pipe(upstream);
  };

  const handle = (req: IncomingMessage, res: ServerResponse) => {
    counters.requests++;
    const fate = draw();
    if (fate === undefined) forward(req, res, undefined);
    else if (fate.late) forward(req, res, fate.fault);
    else inject(fate.fault, req, res);
  };

  const listen = async () => {
    const next = createServer(handle);
    // Keep client connections open as long as the client wants: a timeout here would add unplanned failures.
    next.keepAliveTimeout = 0;
    next.on('connection', (socket: Socket) => {
      sockets.add(socket);
      socket.once('close', () => sockets.delete(socket));
    });
    // A client that misbehaves at the HTTP level just loses its connection.
    next.on('clientError', (_err, socket: Socket) => socket.destroy());
    await new Promise<void>((resolve, reject) => {
      next.once('error', reject);
      next.listen(port, '127.0.0.1', () => {
        next.off('error', reject);
        const address = next.address();
        if (typeof address === 'object' && address) port = address.port;
        resolve();
      });
    });
    server = next;
  };

  const down = async () => {
    const current = server;
    server = undefined;
    const closed = current ? new Promise<void>((resolve) => current.close(() => resolve())) : Promise.resolve();
    for (const socket of sockets) socket.resetAndDestroy();
    sockets.clear();
    await closed;
  };

  await listen();
  return {
    get port() {
      return port;
    },
    get endpoint() {
      return `http://127.0.0.1:${port}`;
    },
    counters: () => ({ ...counters }),
    setRates(rates) {
      resetRate = rates.resetRate ?? resetRate;
      errorRate = rates.errorRate ?? errorRate;
    },
    down,
    async up() {
      if (!server) await listen();
    },
    async close() {
      await down();
      agent.destroy();
    },
  };
}

/** The headers of a message minus those that belong to one connection. */
function passOn(headers: IncomingHttpHeaders): IncomingHttpHeaders {
  const out: IncomingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined && !HOP_BY_HOP.has(name)) out[name] = value;
  }
  return out;
}

/** An S3-style error document. */
function errorXml(code: string, message: string, resource: string, requestNumber: number): string {
  const escaped = resource.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  return (
    '<?xml version="1.0" encoding="UTF-8"?>\n' +
    `<Error><Code>${code}</Code><Message>${message}</Message><Resource>${escaped}</Resource>` +
    `<RequestId>fault-${requestNumber}</RequestId></Error>`
  );
}
