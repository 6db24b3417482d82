import type { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { io } from 'socket.io-client';
import {
  authHeader,
  freePort,
  startHaproxy,
  startRabbitCluster,
  type LocalHaproxy,
  type LocalRabbitCluster,
} from '@chat/local-infra';
import { waitFor } from '@chat/testkit';
import type { ChatSocket } from '@chat/client';
import { Stack } from '../system/stack';
import { send, type SendResult } from '../system/fixtures';

/**
 * What `npm run start:cluster` runs, for tests: a 3-node RabbitMQ cluster of its own (temporary folder,
 * free ports), the services as real processes (2 gateways, 2 delivery workers) with every node's
 * address in AMQP_URL, and HAProxy in front of the gateways as the public origin.
 */
export class ClusterStack {
  cluster!: LocalRabbitCluster;
  stack!: Stack;
  balancer!: LocalHaproxy;
  private readonly dir = mkdtempSync(join(tmpdir(), 'chat-cluster-'));

  async start(): Promise<this> {
    const ports = new Set<number>();
    while (ports.size < 10) ports.add(await freePort());
    const [lb, ...p] = [...ports];
    const nodes = [0, 1, 2].map((i) => ({ port: p[i * 3]!, managementPort: p[i * 3 + 1]!, distPort: p[i * 3 + 2]! }));
    this.cluster = await startRabbitCluster({
      baseDir: this.dir,
      namePrefix: `chat-test-cluster-${nodes[0]!.port}`,
      nodes,
    });
    // Assigned before it starts: stop() must reach the processes of a start that failed half-way.
    this.stack = new Stack({
      amqpUrl: this.cluster.url(),
      gateways: 2,
      deliveries: 2,
      readyTimeoutMs: 90_000,
      env: process.env.CLUSTER_TEST_DEBUG ? { gateway: { LOG_LEVEL: 'info' } } : {},
    });
    await this.stack.start();
    const gateways = this.stack.procs.filter((x) => x.name === 'gateway');
    this.balancer = await startHaproxy({
      dir: join(this.dir, 'haproxy'),
      port: lb!,
      backends: gateways.map((g, i) => ({ name: `gateway-${i + 1}`, port: g.port })),
      checkIntervalMs: 500,
    });
    await waitFor(
      async () => (await fetch(`${this.origin}/readyz`)).status === 200,
      20_000,
      'the load balancer to find a ready gateway',
    );
    return this;
  }

  get origin(): string {
    return this.balancer.url;
  }

  /** The node (index into cluster.nodes) leading a quorum queue, as a live node's management API says. */
  async leaderOf(queue: string, askNode = 0): Promise<number> {
    const mgmt = this.cluster.nodes[askNode]!.managementUrl.replace(/\/\/[^@]*@/, '//');
    const res = await fetch(`${mgmt}/api/queues/%2F/${encodeURIComponent(queue)}`, { headers: authHeader });
    const q = (await res.json()) as { leader?: string; type?: string };
    const i = this.cluster.nodeNames.indexOf(q.leader ?? '');
    if (i < 0) throw new Error(`no leader for ${queue}: ${JSON.stringify(q)}`);
    return i;
  }

  /** A queue's counts as the first node that answers says: for a failure's report. */
  async queueCounts(queue: string): Promise<string> {
    for (const node of this.cluster.nodes) {
      const mgmt = node.managementUrl.replace(/\/\/[^@]*@/, '//');
      const q = await fetch(`${mgmt}/api/queues/%2F/${encodeURIComponent(queue)}`, { headers: authHeader })
        .then(
          (r) => r.json() as Promise<{ messages_ready?: number; messages_unacknowledged?: number; consumers?: number }>,
        )
        .catch(() => null);
      if (q)
        return `${queue}: ${q.messages_ready ?? '?'} ready, ${q.messages_unacknowledged ?? '?'} unacknowledged, ${q.consumers ?? '?'} consumers`;
    }
    return `${queue}: no node answered`;
  }

  /** Each live gateway's count of connected sockets (its metrics). */
  async socketCounts(): Promise<Map<number, number>> {
    const out = new Map<number, number>();
    for (const g of this.stack.all('gateway')) {
      const text = await (await fetch(`http://127.0.0.1:${g.opsPort}/metrics`)).text();
      out.set(g.port, Number(/^gateway_connected_sockets(?:\{[^}]*\})? (\d+)/m.exec(text)?.[1] ?? 0));
    }
    return out;
  }

  /** Connects one client through the balancer and says which gateway (port) took it. */
  async connectVia(token: string): Promise<{ client: ReturnType<typeof resilientSocket>; gatewayPort: number }> {
    const before = await this.socketCounts();
    const client = resilientSocket(this.origin, token);
    await client.ready;
    const gatewayPort = await waitFor(
      async () => {
        const now = await this.socketCounts();
        return [...now].find(([port, n]) => n > (before.get(port) ?? 0))?.[0];
      },
      5_000,
      'the gateway that took the client',
    );
    return { client, gatewayPort };
  }

  async allReady(): Promise<boolean> {
    for (const p of this.stack.procs.filter(
      (x) => x.process.child.exitCode === null && x.process.child.signalCode === null,
    )) {
      const res = await fetch(`http://127.0.0.1:${p.port}/readyz`).catch(() => null);
      if (res?.status !== 200) return false;
    }
    return true;
  }

  async stop(): Promise<void> {
    // Each part is stopped even if stopping the one before failed: nothing may outlive the test run.
    try {
      await this.balancer?.stop();
    } finally {
      try {
        await this.stack?.stop();
      } finally {
        await this.cluster?.stop();
        rmSync(this.dir, { recursive: true, force: true });
      }
    }
  }
}

/** A client as a real one behaves: reconnects by itself (through the balancer) and counts its connections. */
export function resilientSocket(
  origin: string,
  token: string,
): { socket: ChatSocket; connects: () => number; ready: Promise<void> } {
  const socket: ChatSocket = io(origin, {
    auth: { token },
    transports: ['websocket'],
    forceNew: true,
    reconnectionDelay: 100,
    reconnectionDelayMax: 500,
  });
  let connects = 0;
  const ready = new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  socket.on('connect', () => connects++);
  return { socket, connects: () => connects, ready };
}

/**
 * Sends one message and, like a real client, sends it again with the same clientMsgId until it is
 * acknowledged: after a retryable refusal, or no answer (its gateway died). Every answer goes to `log`.
 */
export async function sendUntilAcked(
  socket: ChatSocket,
  conversationId: string,
  body: string,
  clientMsgId: ReturnType<typeof randomUUID>,
  log: SendResult[],
): Promise<SendResult> {
  const deadline = Date.now() + 60_000;
  // After an attempt whose outcome is unknown (no answer, UNAVAILABLE), the next ones say `resend`.
  let resend = false;
  for (;;) {
    if (!socket.connected) await waitFor(() => socket.connected, 30_000, 'the socket to reconnect', 50);
    const r = await send(socket, conversationId, body, clientMsgId, 3_000, resend ? { resend } : {});
    log.push(r);
    if (r.ok || !r.error.retryable || Date.now() > deadline) return r;
    if (r.error.code !== 'RATE_LIMITED') resend = true;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
