import { createServer, connect, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

export interface TcpLink {
  /** The loopback port that relays to the target. */
  port: number;
  /** Connections opened through the link so far. */
  opened: () => number;
  /**
   * Severs every open connection at once, as a broker (or its host) that vanishes does: no protocol
   * goodbye. `reset` sends a TCP RST (a killed peer); otherwise a FIN (a closed socket).
   */
  cut: (how?: { reset?: boolean }) => void;
  close: () => Promise<void>;
}

/**
 * A TCP relay on a free loopback port to `host:port`, which a test can cut: the client talks to the
 * real server through it (nothing is faked) and loses it at the exact moment the test chooses.
 */
export async function startTcpLink(target: { host: string; port: number }): Promise<TcpLink> {
  const pairs = new Set<[Socket, Socket]>();
  let opened = 0;
  const server: Server = createServer((client) => {
    opened++;
    const upstream = connect(target.port, target.host);
    const pair: [Socket, Socket] = [client, upstream];
    pairs.add(pair);
    const drop = () => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    opened: () => opened,
    cut: ({ reset = false } = {}) => {
      for (const pair of [...pairs]) {
        pairs.delete(pair);
        const [client, upstream] = pair;
        if (reset) client.resetAndDestroy();
        else client.destroy();
        upstream.destroy();
      }
    },
    close: async () => {
      for (const [client, upstream] of pairs) {
        client.destroy();
        upstream.destroy();
      }
      pairs.clear();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
