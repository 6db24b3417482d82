import { performance } from 'node:perf_hooks';
import { Api, inBatches, newClientMsgId, type BenchUser } from '@chat/client';
import { percentiles } from './lib/stats';
import { gatewayRss, sample, usage } from './lib/procs';
import { stackTarget, type Target } from './targets';

export interface Options {
  origin: string;
  users: number;
  messages: number;
  /** Messages per second; 0 = as fast as acks allow within `window`. */
  rate: number;
  window: number;
  roomSize: number;
  sockets: number;
  /** Persistence's `/metrics`: measures when every acked message was stored (its stored counter). */
  persistenceMetrics?: string;
}

interface Track {
  sentAt: number;
  ackAt?: number;
  deliveredAt?: number;
  ok?: boolean;
  error?: string;
  /** Copies delivered after the first (a duplicate delivery). */
  copies?: number;
}

const prefix = () => `b${Date.now().toString(36)}`;

async function registerAll(api: Api, n: number): Promise<BenchUser[]> {
  const p = prefix();
  return inBatches(
    Array.from({ length: n }, (_, i) => i),
    8,
    (i) => api.register(p, i),
  );
}

/** U users in pairs, N messages 1:1 at a fixed rate or as fast as a bounded window of acks allows. */
export async function pairs(o: Options, target: Target = stackTarget(o.origin)) {
  const setup = await target.pairs(o.users);
  const { users, pairs: pairsList, sockets } = setup;
  const tracks = new Map<string, Track>();
  for (const u of users) {
    sockets.get(u.id)!.on('message:new', (m) => {
      if (m.senderId === u.id) return;
      const t = tracks.get(m.clientMsgId);
      if (t && t.deliveredAt === undefined) t.deliveredAt = performance.now();
      else if (t) t.copies = (t.copies ?? 0) + 1;
    });
  }
  let inFlight = 0;
  const send = (i: number) => {
    const p = pairsList[i % pairsList.length]!;
    const from = Math.floor(i / pairsList.length) % 2 === 0 ? p.a : p.b;
    const clientMsgId = newClientMsgId();
    const t: Track = { sentAt: performance.now() };
    tracks.set(clientMsgId, t);
    inFlight++;
    sockets
      .get(from.id)!
      .timeout(30_000)
      .emit(
        'message:send',
        { conversationId: p.conv, clientMsgId, body: `bench message ${i}` },
        (err: Error | null, res?: { ok: boolean; error?: { code: string } }) => {
          inFlight--;
          t.ackAt = performance.now();
          t.ok = !err && res?.ok === true;
          if (!t.ok) t.error = err ? 'timeout' : res?.error?.code;
        },
      );
  };
  const storedBefore = target.name === 'stack' && o.persistenceMetrics ? await storedCount(o.persistenceMetrics) : null;
  const before = sample();
  const start = performance.now();
  if (o.rate > 0) {
    await new Promise<void>((resolve) => {
      let sent = 0;
      const timer = setInterval(() => {
        const due = Math.min(o.messages, Math.floor(((performance.now() - start) / 1000) * o.rate));
        while (sent < due && inFlight < 20_000) send(sent++);
        if (sent >= o.messages) {
          clearInterval(timer);
          resolve();
        }
      }, 2);
    });
  } else {
    let sent = 0;
    await new Promise<void>((resolve) => {
      const pump = () => {
        while (sent < o.messages && inFlight < o.window) send(sent++);
        if (sent >= o.messages) return resolve();
        setImmediate(pump);
      };
      pump();
    });
  }
  const all = [...tracks.values()];
  await waitUntil(() => all.every((t) => t.ackAt !== undefined), 60_000);
  // Persistence keeping up, read from its stored counter: when every acked message was committed, after
  // the last ack. Exacter than reading history back through the origin (which takes seconds itself).
  let persistenceDrainedAfterLastAckMs: number | null = null;
  const drained =
    target.name === 'stack' && o.persistenceMetrics && storedBefore !== null
      ? storedBy(o.persistenceMetrics, storedBefore + all.filter((t) => t.ok).length)
      : null;
  const acked = all.filter((t) => t.ok).length;
  await waitUntil(() => all.filter((t) => t.ok && t.deliveredAt !== undefined).length >= acked, 60_000);
  const end = performance.now();
  const after = sample();
  if (drained)
    persistenceDrainedAfterLastAckMs = Math.max(
      0,
      Math.round((await drained) - Math.max(...all.map((t) => t.ackAt ?? 0))),
    );
  const seconds = (end - start) / 1000;
  const lastAck = Math.max(...all.map((t) => t.ackAt ?? 0));
  // Persistence must keep up: wait until every acked message is in history, and how long after the last ack.
  let persisted: number | null = null;
  let duplicates: number | null = null;
  let persistLagMs: number | null = null;
  if (target.stored) {
    const ids = new Set(tracks.keys());
    const persistDeadline = performance.now() + 120_000;
    for (;;) {
      ({ persisted, duplicates } = await target.stored(setup, ids));
      if (persisted >= acked || performance.now() > persistDeadline) break;
    }
    persistLagMs = Math.round(performance.now() - lastAck);
  }
  for (const s of sockets.values()) s.close();
  const delivered = all.filter((t) => t.deliveredAt !== undefined);
  const processes = usage(before, after, seconds);
  const cpuPercent = Math.round(target.processes.reduce((a, n) => a + (processes[n]?.cpuPercent ?? 0), 0) * 10) / 10;
  return {
    scenario: 'pairs',
    target: target.name,
    users: users.length,
    sent: all.length,
    acked,
    refused: all.length - acked,
    errors: countBy(all.filter((t) => !t.ok).map((t) => t.error ?? 'unknown')),
    delivered: delivered.length,
    duplicateDeliveries: all.reduce((a, t) => a + (t.copies ?? 0), 0),
    persisted,
    duplicatesInHistory: duplicates,
    seconds: round(seconds),
    deliveredPerSecond: Math.round(
      delivered.length / ((Math.max(...delivered.map((t) => t.deliveredAt!)) - start) / 1000),
    ),
    ackLatencyMs: percentiles(all.filter((t) => t.ok).map((t) => t.ackAt! - t.sentAt)),
    sendToDeliveryMs: percentiles(delivered.map((t) => t.deliveredAt! - t.sentAt)),
    /**
     * When the slowest 1% of deliveries were sent (ms after the start, in 250 ms buckets, with their
     * count): spikes clustered at the start are warm-up (first lookups), spread ones are the path's.
     */
    slowestSentAtMs: slowestBySendTime(delivered, start),
    /** The first second, per 100 ms of send time: messages sent, worst ack and worst send-to-delivery (ms). */
    firstSecond: firstSecond(all, start),
    historyCheckAfterLastAckMs: persistLagMs,
    persistenceDrainedAfterLastAckMs,
    /** CPU of the target's own processes (services + RabbitMQ for the stack), percent of one core and ms per delivered message. */
    targetCpuPercent: cpuPercent,
    targetCpuMsPerMessage: round(((cpuPercent / 100) * seconds * 1000) / Math.max(1, delivered.length), 3),
    processes,
  };
}

/** One room of `roomSize` members, all connected; each message must reach every member's socket. */
export async function room(o: Options) {
  const api = new Api(o.origin);
  const users = await registerAll(api, o.roomSize);
  const owner = users[0]!;
  const conv = await joinedRoom(api, owner, users.slice(1));
  const sockets = await inBatches(users, 50, (u) => api.connect(u.token));
  const sentAt = new Map<string, number>();
  const latencies: number[] = [];
  let received = 0;
  sockets.forEach((s) =>
    s.on('message:new', (m) => {
      const t = sentAt.get(m.clientMsgId);
      if (t !== undefined) {
        latencies.push(performance.now() - t);
        received++;
      }
    }),
  );
  const before = sample();
  const start = performance.now();
  for (let i = 0; i < o.messages; i++) {
    const clientMsgId = newClientMsgId();
    sentAt.set(clientMsgId, performance.now());
    // Every member's socket but the sending one (the contract sends the sender's *other* sockets a copy).
    const expected = (i + 1) * (users.length - 1);
    await new Promise<void>((resolve) =>
      sockets[0]!.emit('message:send', { conversationId: conv, clientMsgId, body: `room message ${i}` }, () =>
        resolve(),
      ),
    );
    await waitUntil(() => received >= expected, 30_000);
  }
  const seconds = (performance.now() - start) / 1000;
  const after = sample();
  sockets.forEach((s) => s.close());
  return {
    scenario: 'room',
    members: users.length,
    messages: o.messages,
    deliveries: received,
    expected: o.messages * (users.length - 1),
    fanoutLatencyMs: percentiles(latencies),
    processes: usage(before, after, seconds),
  };
}

/**
 * A room of `owner` and `members`, through the public API: joining takes the newcomer's consent (an
 * owner adds only friends directly), so the owner creates an empty room, invites everyone and each
 * member accepts their invitation. In parallel batches; the stack must lift `INVITE_RATE_MAX`.
 */
async function joinedRoom(api: Api, owner: BenchUser, members: BenchUser[]): Promise<string> {
  const conv = await api.room(owner, []);
  await inBatches(members, 25, async (m) => {
    const inv = await api.call<{ id: string }>(
      'POST',
      `/conversations/${conv}/invitations`,
      { userId: m.id },
      owner.token,
    );
    await api.call('POST', `/invitations/${inv.id}/accept`, undefined, m.token);
  });
  return conv;
}

/** Gateway memory per idle connected socket: RSS before and after connecting `sockets` sockets. */
export async function idle(o: Options) {
  const api = new Api(o.origin);
  const users = await registerAll(api, Math.min(o.users, 100));
  const rss0 = gatewayRss();
  const sockets = await inBatches(
    Array.from({ length: o.sockets }, (_, i) => users[i % users.length]!),
    200,
    (u) => api.connect(u.token),
  );
  await new Promise((r) => setTimeout(r, 3_000)); // let the gateway settle before reading its RSS
  const rss1 = gatewayRss();
  sockets.forEach((s) => s.close());
  return {
    scenario: 'idle',
    sockets: sockets.length,
    gatewayRssBeforeMiB: Math.round(rss0 / 1048576),
    gatewayRssAfterMiB: Math.round(rss1 / 1048576),
    bytesPerSocket: Math.round((rss1 - rss0) / sockets.length),
  };
}

function slowestBySendTime(delivered: Track[], start: number): Record<string, number> {
  const byLatency = [...delivered].sort((a, b) => b.deliveredAt! - b.sentAt - (a.deliveredAt! - a.sentAt));
  const slow = byLatency.slice(0, Math.max(1, Math.ceil(delivered.length / 100)));
  return countBy(slow.map((t) => String(Math.floor((t.sentAt - start) / 250) * 250)));
}

function firstSecond(all: Track[], start: number): Array<[number, number, number]> {
  const out: Array<[number, number, number]> = Array.from({ length: 10 }, () => [0, 0, 0]);
  for (const t of all) {
    const b = out[Math.floor((t.sentAt - start) / 100)];
    if (!b) continue;
    b[0]++;
    if (t.ackAt !== undefined) b[1] = Math.max(b[1], Math.round(t.ackAt - t.sentAt));
    if (t.deliveredAt !== undefined) b[2] = Math.max(b[2], Math.round(t.deliveredAt - t.sentAt));
  }
  return out;
}

/** Messages persistence has stored so far (its `persistence_messages_stored_total`). */
async function storedCount(metricsUrl: string): Promise<number> {
  const text = await (await fetch(metricsUrl)).text();
  const m = /^persistence_messages_stored_total(?:\{[^}]*\})? (\d+(?:\.\d+)?)/m.exec(text);
  return m ? Number(m[1]) : NaN;
}

/** Resolves with the time (performance.now()) persistence had stored `target` messages, polling every 10 ms. */
async function storedBy(metricsUrl: string, target: number): Promise<number> {
  for (;;) {
    const t = performance.now();
    if ((await storedCount(metricsUrl)) >= target) return t;
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function waitUntil(pred: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  while (!pred()) {
    if (performance.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 5));
  }
  return true;
}

const round = (n: number, digits = 2) => Math.round(n * 10 ** digits) / 10 ** digits;
const countBy = (xs: string[]) =>
  xs.reduce<Record<string, number>>((acc, x) => ((acc[x] = (acc[x] ?? 0) + 1), acc), {});
