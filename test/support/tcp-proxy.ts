import { createServer, connect, type Server, type Socket } from 'node:net';

/**
 * A TCP forwarder on 127.0.0.1:port → 127.0.0.1:targetPort that tests can
 * cut and restore, to simulate a backend outage without stopping a server
 * whose data would not survive a restart (the GCS emulator keeps objects in
 * memory).
 */
export interface TcpProxy {
  /** The port clients connect to. */
  readonly port: number;
  /**
   * Stops listening (new connections are refused) and destroys every open
   * connection in both directions. Resolves once the port is closed.
   */
  cut(): Promise<void>;
  /** Listens again on the same port. */
  restore(): Promise<void>;
  /** Cuts for good. */
  close(): Promise<void>;
}

/** Starts a proxy on `port` (use freePort()) forwarding to `targetPort`. */
export async function startTcpProxy(port: number, targetPort: number): Promise<TcpProxy> {
  const sockets = new Set<Socket>();
  let server: Server | undefined;

  const track = (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  };

  const listen = async () => {
    const next = createServer((client) => {
      track(client);
      const upstream = connect({ host: '127.0.0.1', port: targetPort });
      track(upstream);
      client.pipe(upstream);
      upstream.pipe(client);
      // An error on either side ends both: the other peer sees a reset, as on a real outage.
      client.on('error', () => upstream.destroy());
      upstream.on('error', () => client.destroy());
      client.once('close', () => upstream.destroy());
      upstream.once('close', () => client.destroy());
    });
    await new Promise<void>((resolve, reject) => {
      next.once('error', reject);
      next.listen(port, '127.0.0.1', () => {
        next.off('error', reject);
        resolve();
      });
    });
    server = next;
  };

  const cut = async () => {
    const current = server;
    server = undefined;
    for (const socket of sockets) socket.destroy();
    sockets.clear();
    if (current) await new Promise<void>((resolve) => current.close(() => resolve()));
  };

  await listen();
  return {
    port,
    cut,
    async restore() {
      if (!server) await listen();
    },
    close: cut,
  };
}
