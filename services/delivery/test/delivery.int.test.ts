import { randomUUID } from 'node:crypto';
import amqp, { type ChannelModel } from 'amqplib';
import { parseDeliveryBatch, type DeliveryBatch, type Message } from '@chat/contracts';
import { silentLogger } from '@chat/logger';
import { Broker, EXCHANGES, QUEUES, deadLetterQueue, gatewayRoutingKey } from '@chat/messaging';
import {
  createTestVhost,
  queueDepth,
  startFakeAccounts,
  waitFor,
  type FakeAccounts,
  type TestVhost,
} from '@chat/testkit';
import { deliveryConfig, startDelivery, type RunningDelivery } from '../src/server';

type Got = { userId: string; event: string; data: unknown; traceId?: string; sentAt?: number };

/**
 * Stands in for a gateway: its own queue bound to its routing key, a heartbeat naming the users it
 * "holds", and every delivery batch that arrives flattened to one record per user.
 */
async function fakeGateway(url: string, userIds: string[], workers: RunningDelivery[]) {
  const id = `fake-${randomUUID()}`;
  const conn: ChannelModel = await amqp.connect(url);
  const ch = await conn.createConfirmChannel();
  const { queue } = await ch.assertQueue('', { exclusive: true, autoDelete: true });
  await ch.bindQueue(queue, EXCHANGES.deliveries, gatewayRoutingKey(id));
  const got: Got[] = [];
  const batches: DeliveryBatch[] = [];
  await ch.consume(
    queue,
    (m) => {
      if (!m) return;
      const b = parseDeliveryBatch(JSON.parse(m.content.toString()));
      batches.push(b);
      for (const it of b.items)
        for (const userId of it.userIds)
          got.push({ userId, event: it.event, data: it.data, traceId: it.traceId, sentAt: it.sentAt });
    },
    { noAck: true },
  );
  const hb = {
    v: 1,
    type: 'gateway.heartbeat',
    id: randomUUID(),
    occurredAt: new Date().toISOString(),
    traceId: 't',
    payload: { gatewayId: id, userIds, intervalMs: 60_000 },
  };
  ch.publish(EXCHANGES.events, 'gateway.heartbeat', Buffer.from(JSON.stringify(hb)));
  await ch.waitForConfirms();
  await waitFor(
    () => workers.every((w) => userIds.every((u) => w.sessions.route([u]).has(id))),
    15_000,
    'every worker to learn the sessions',
  );
  return { id, got, batches, close: () => conn.close().catch(() => undefined) };
}

const message = (conversationId: string, senderId: string, body = 'hi'): Message => ({
  id:
    '01JD' +
    randomUUID()
      .replace(/-/g, '')
      .toUpperCase()
      .replace(/[ILOU]/g, '0')
      .slice(0, 22),
  conversationId,
  senderId,
  clientMsgId: randomUUID(),
  createdAt: new Date().toISOString(),
  kind: 'text',
  body,
});

describe('delivery worker against a real RabbitMQ', () => {
  let vhost: TestVhost;
  let accounts: FakeAccounts;
  let publisher: Broker;
  const workers: RunningDelivery[] = [];
  const closers: Array<() => Promise<unknown>> = [];
  const worker = async () => {
    const w = await startDelivery(
      deliveryConfig({ PORT: 0, AMQP_URL: vhost.url, ACCOUNTS_URL: accounts.url, INSTANCE_ID: `t-${randomUUID()}` }),
    );
    workers.push(w);
    return w;
  };
  const gateway = async (users: string[]) => {
    const g = await fakeGateway(vhost.url, users, workers);
    closers.push(g.close);
    return g;
  };

  beforeAll(async () => {
    vhost = await createTestVhost();
    accounts = await startFakeAccounts();
    publisher = new Broker({ url: vhost.url, logger: silentLogger() });
    await publisher.connect();
    await worker();
  });
  afterAll(async () => {
    await Promise.allSettled(closers.map((c) => c()));
    await Promise.allSettled(workers.map((w) => w.close()));
    await publisher.close();
    await accounts.close();
    await vhost.drop();
  });

  it('routes one delivery batch per gateway naming its recipients, the sender included', async () => {
    const [a, b, c] = [randomUUID(), randomUUID(), randomUUID()];
    const conv = accounts.conversation([a, b, c], { kind: 'room' }).id;
    const g = await gateway([a, b, c]);
    const other = await gateway([c]);
    const m = message(conv, a);
    await publisher.publish('message.created', m, { traceId: 'trace-x' });
    await waitFor(
      () => g.got.length === 3 && other.got.length === 1,
      15_000,
      'three deliveries on one gateway, one on the other',
    );
    // One broker message per gateway, not one per user.
    expect(g.batches).toHaveLength(1);
    expect(other.batches).toEqual([
      {
        v: 2,
        items: [{ event: 'message:new', data: m, userIds: [c], traceId: 'trace-x', sentAt: Date.parse(m.createdAt) }],
      },
    ]);
    expect(g.got.map((d) => d.userId).sort()).toEqual([a, b, c].sort());
    for (const d of g.got)
      expect(d).toEqual({
        userId: d.userId,
        event: 'message:new',
        data: m,
        traceId: 'trace-x',
        sentAt: Date.parse(m.createdAt),
      });
  });

  it('shares the queue between competing workers and delivers each message once per member', async () => {
    await worker();
    await waitFor(async () => (await queueDepth(vhost, QUEUES.delivery.name)).consumers === 2, 15_000, 'two consumers');
    const [a, b] = [randomUUID(), randomUUID()];
    const conv = accounts.conversation([a, b]).id;
    const g = await gateway([b]);
    const sent = Array.from({ length: 500 }, (_, i) => message(conv, a, `m${i}`));
    await Promise.all(sent.map((m) => publisher.publish('message.created', m)));
    await waitFor(() => g.got.length >= 500, 30_000, '500 deliveries');
    expect(new Set(g.got.map((d) => (d.data as Message).id)).size).toBe(500);
    expect(g.got).toHaveLength(500);
  });

  it('dead-letters malformed events and keeps going', async () => {
    const conn = await amqp.connect(vhost.url);
    const ch = await conn.createConfirmChannel();
    ch.publish(EXCHANGES.events, 'message.created', Buffer.from('not json'));
    ch.publish(
      EXCHANGES.events,
      'message.created',
      Buffer.from(
        JSON.stringify({
          v: 1,
          type: 'message.created',
          id: 'x',
          occurredAt: 'now',
          traceId: 't',
          payload: { body: 1 },
        }),
      ),
    );
    await ch.waitForConfirms();
    await conn.close();
    const [a, b] = [randomUUID(), randomUUID()];
    const conv = accounts.conversation([a, b]).id;
    const g = await gateway([b]);
    await publisher.publish('message.created', message(conv, a));
    await waitFor(() => g.got.length === 1, 15_000, 'the valid message');
    await waitFor(
      async () => (await queueDepth(vhost, deadLetterQueue(QUEUES.delivery.name))).ready === 2,
      15_000,
      'two dead letters',
    );
  });

  it('waits for accounts when the members lookup fails, then delivers', async () => {
    const [a, b] = [randomUUID(), randomUUID()];
    const conv = accounts.conversation([a, b]).id;
    const g = await gateway([b]);
    accounts.down = true;
    const refused = accounts.refused;
    await publisher.publish('message.created', message(conv, a));
    // Two refused lookups: the worker tried, failed, put the event back and tried again.
    await waitFor(() => accounts.refused >= refused + 2, 15_000, 'the worker to retry the lookup');
    expect(g.got).toHaveLength(0);
    accounts.down = false;
    await waitFor(() => g.got.length === 1, 10_000, 'the delivery after accounts is back');
    expect(await queueDepth(vhost, deadLetterQueue(QUEUES.delivery.name))).toMatchObject({ ready: 2 });
  });

  it('routes membership changes to members and who left, and uses them instead of a lookup', async () => {
    const [a, b, c] = [randomUUID(), randomUUID(), randomUUID()];
    const conv = randomUUID();
    const g = await gateway([a, b, c]);
    const conversation = {
      id: conv,
      kind: 'room' as const,
      title: 'r',
      createdAt: new Date().toISOString(),
      members: [a, b].map((userId) => ({ userId, role: 'member' as const, lastReadMessageId: null })),
    };
    await publisher.publish('conversation.changed', {
      type: 'member_removed',
      conversation,
      memberIds: [a, b],
      removedUserIds: [c],
      userId: c,
    });
    await waitFor(() => g.got.length === 3, 15_000, 'three conversation events');
    expect(g.got.every((d) => d.event === 'conversation')).toBe(true);
    expect(g.got[0]!.data).toMatchObject({ type: 'member_removed', conversation: { id: conv }, userId: c });
    // Every worker also learns the members from its own queue, possibly after another worker routed the
    // event above: a heartbeat published after the event waits behind it there, so once every worker
    // routes this marker gateway's user, every worker knows the members.
    await gateway([randomUUID()]);
    // accounts does not know this conversation: the members came from the event.
    await publisher.publish('message.created', message(conv, a));
    await waitFor(() => g.got.filter((d) => d.event === 'message:new').length === 2, 15_000, 'deliveries to a and b');
    expect(
      g.got
        .filter((d) => d.event === 'message:new')
        .map((d) => d.userId)
        .sort(),
    ).toEqual([a, b].sort());
    expect(accounts.lookups.some((l) => l.endsWith(conv))).toBe(false);
  });

  it('routes friendship changes, read markers and typing', async () => {
    const [a, b] = [randomUUID(), randomUUID()];
    const conv = accounts.conversation([a, b]).id;
    const g = await gateway([a, b]);
    await publisher.publish('friendship.changed', { userIds: [a, b], event: { type: 'accepted', userId: a } });
    await waitFor(() => g.got.filter((d) => d.event === 'friends').length === 2, 15_000, 'friends events');
    const read = {
      conversationId: conv,
      userId: a,
      messageId: '01JD0000000000000000000000',
      at: new Date().toISOString(),
    };
    await publisher.publish('message.read', read);
    await waitFor(() => g.got.filter((d) => d.event === 'read').length === 2, 15_000, 'read events');
    await publisher.publish(
      'typing.changed',
      { conversationId: conv, userId: a, typing: true },
      // The production expiry is seconds; here a loaded machine must not drop it before it is routed.
      { expirationMs: 60_000 },
    );
    await waitFor(() => g.got.some((d) => d.event === 'typing'), 15_000, 'typing');
    expect(g.got.filter((d) => d.event === 'typing').map((d) => d.userId)).toEqual([b]);
  });

  it('routes presence changes to contacts, looking up a burst of them in a few batched requests', async () => {
    const watcher = randomUUID();
    const users = Array.from({ length: 50 }, () => randomUUID());
    for (const u of users) accounts.contacts.set(u, [watcher]);
    const g = await gateway([watcher]);
    const before = accounts.lookups.filter((p) => p === '/internal/v1/contacts').length;
    await Promise.all(
      users.map((userId) => publisher.publish('presence.changed', { userId, online: true, lastSeenAt: null })),
    );
    await waitFor(() => g.got.filter((d) => d.event === 'presence').length === 50, 15_000, '50 presence deliveries');
    expect(
      new Set(g.got.filter((d) => d.event === 'presence').map((d) => (d.data as { userId: string }).userId)),
    ).toEqual(new Set(users));
    const requests = accounts.lookups.filter((p) => p === '/internal/v1/contacts').length - before;
    expect(requests).toBeGreaterThanOrEqual(1);
    // One per consumer batch, not one per change. How many batches a burst makes depends on how it
    // arrives (CI, loaded: 12); without batching it is 50.
    expect(requests).toBeLessThanOrEqual(25);
  });

  it('reports ready and its routing figures', async () => {
    const w = workers[0]!;
    expect((await fetch(`http://127.0.0.1:${w.port}/readyz`)).status).toBe(200);
    expect(await (await fetch(`http://127.0.0.1:${w.port}/metrics`)).text()).toMatch(
      /delivery_routed_total\{[^}]*event="message:new"[^}]*\} [1-9]/,
    );
  });
});
