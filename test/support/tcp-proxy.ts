import { createServer, connect, type Server, type Socket } from 'node:net';

/**
 * A TCP proxy in front of PostgreSQL that a test can break the way networks
 * break: `refuse()` closes the listener and resets every open connection (a
 * stopped or restarting server), `stall()` keeps accepting but forwards
 * nothing in either direction (a partition, a hung server), `restore()` heals.
 */
export interface TcpProxy {
  /** The target URL rewritten to go through the proxy. */
  readonly url: string;
  refuse(): Promise<void>;
  stall(): void;
  restore(): Promise<void>;
  close(): Promise<void>;
}

export async function startTcpProxy(targetUrl: string): Promise<TcpProxy> {
  const target = new URL(targetUrl);
  const targetPort = Number(target.port || 5432);
  const targetHost = target.hostname;
  const open = new Set<Socket>();
  let stalled = false;
  let server: Server | undefined;
  let port = 0;

  const onConnection = (client: Socket) => {
    open.add(client);
    client.on('close', () => open.delete(client));
    client.on('error', () => client.destroy());
    if (stalled) {
      // Accepted, never answered: what a half-dead server looks like to a client.
      client.pause();
      return;
    }
    const upstream = connect(targetPort, targetHost);
    open.add(upstream);
    upstream.on('close', () => {
      open.delete(upstream);
      client.destroy();
    });
    upstream.on('error', () => upstream.destroy());
    client.on('close', () => upstream.destroy());
    client.on('data', (chunk) => {
      if (!stalled) {
        upstream.write(chunk);
      }
    });
    upstream.on('data', (chunk) => {
      if (!stalled) {
        client.write(chunk);
      }
    });
  };

  const listen = () =>
    new Promise<void>((resolve, reject) => {
      const next = createServer(onConnection);
      next.once('error', reject);
      next.listen(port, '127.0.0.1', () => {
        port = (next.address() as { port: number }).port;
        server = next;
        resolve();
      });
    });

  const stopListening = () =>
    new Promise<void>((resolve) => {
      const current = server;
      server = undefined;
      if (!current) {
        resolve();
        return;
      }
      current.close(() => resolve());
    });

  const resetAll = () => {
    for (const socket of open) {
      socket.resetAndDestroy();
    }
    open.clear();
  };

  await listen();
  const url = new URL(targetUrl);
  url.hostname = '127.0.0.1';
  url.port = String(port);

  return {
    url: url.toString(),
    async refuse() {
      stalled = false;
      const closing = stopListening();
      resetAll();
      await closing;
    },
    stall() {
      stalled = true;
    },
    async restore() {
      // Stalled connections stay broken: the client has lost track of them, as after a real partition.
      resetAll();
      stalled = false;
      if (!server) {
        await listen();
      }
    },
    async close() {
      const closing = stopListening();
      resetAll();
      await closing;
    },
  };
}
