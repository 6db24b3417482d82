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
  /**
   * The next connections opened through the link are each cut `delays[i]` ms after they open (the
   * first after `delays[0]`, and so on); later ones are left alone. To drop a client at each moment of
   * its connect and set-up without knowing when those are.
   */
  cutEach: (delays: number[], how?: { reset?: boolean }) => void;
  /**
   * Holds what the server sends (its replies queue in the link) until `flush()`, which hands everything
   * held to the client in ONE write (it reads it in one go) and holds on, or `release()`, which flushes
   * and stops holding. A slow network made exact: e.g. a reply and the server's close arriving together.
   */
  hold: () => void;
  /** Bytes from the server held now. */
  held: () => number;
  flush: () => void;
  release: () => void;
  close: () => Promise<void>;
}

/**
 * A TCP relay on a free loopback port to `host:port`, which a test can cut: the client talks to the
 * real server through it (nothing is faked) and loses it at the exact moment the test chooses.
 */
export async function startTcpLink(target: { host: string; port: number }): Promise<TcpLink> {
  const pairs = new Set<[Socket, Socket]>();
  let opened = 0;
  let toCut: number[] = [];
  let cutReset = false;
  const timers = new Set<NodeJS.Timeout>();
  let holding = false;
  let heldChunks: Array<[Socket, Buffer]> = [];
  const heldEnds = new Set<Socket>();
  const flush = () => {
    const byClient = new Map<Socket, Buffer[]>();
    for (const [c, d] of heldChunks) byClient.set(c, [...(byClient.get(c) ?? []), d]);
    heldChunks = [];
    for (const [c, ds] of byClient) if (!c.destroyed) c.write(Buffer.concat(ds));
  };
  const sever = (pair: [Socket, Socket], reset: boolean) => {
    pairs.delete(pair);
    const [client, upstream] = pair;
    if (reset) client.resetAndDestroy();
    else client.destroy();
    upstream.destroy();
  };
  const server: Server = createServer((client) => {
    opened++;
    const upstream = connect(target.port, target.host);
    const pair: [Socket, Socket] = [client, upstream];
    pairs.add(pair);
    const delay = toCut.shift();
    if (delay !== undefined) {
      const timer = setTimeout(() => {
        timers.delete(timer);
        if (pairs.has(pair)) sever(pair, cutReset);
      }, delay);
      timers.add(timer);
    }
    const drop = () => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', drop).on('close', drop);
    // The server's close waits behind what is held, as its bytes do.
    const upstreamGone = () => (holding ? heldEnds.add(client) : drop());
    upstream.on('error', upstreamGone).on('close', upstreamGone);
    client.pipe(upstream);
    upstream.on('data', (d: Buffer) => {
      if (holding) heldChunks.push([client, d]);
      else client.write(d);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    opened: () => opened,
    cut: ({ reset = false } = {}) => {
      for (const pair of [...pairs]) sever(pair, reset);
    },
    cutEach: (delays, { reset = false } = {}) => {
      toCut = [...delays];
      cutReset = reset;
    },
    hold: () => {
      holding = true;
    },
    held: () => heldChunks.reduce((n, [, d]) => n + d.length, 0),
    flush,
    release: () => {
      flush();
      holding = false;
      for (const c of heldEnds) c.end();
      heldEnds.clear();
    },
    close: async () => {
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      for (const [client, upstream] of pairs) {
        client.destroy();
        upstream.destroy();
      }
      pairs.clear();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
