import amqp from 'amqplib';
import { createTestVhost, type TestVhost } from '@chat/testkit';
import { EXCHANGES, QUEUES, deadLetterQueue } from './topology';
import { migrateToQuorum } from './migrate-quorum';

/** The queue's type as the management API reports it. */
async function queueType(vhost: TestVhost, queue: string): Promise<string> {
  const res = await fetch(
    `${process.env.CHAT_TEST_RMQ_MGMT}/api/queues/${encodeURIComponent(vhost.vhost)}/${encodeURIComponent(queue)}`,
    {
      headers: { authorization: `Basic ${Buffer.from('guest:guest').toString('base64')}` },
    },
  );
  return ((await res.json()) as { type: string }).type;
}

describe('migrating an existing broker from classic to quorum queues', () => {
  let vhost: TestVhost;
  beforeEach(async () => {
    vhost = await createTestVhost();
  });
  afterEach(async () => vhost.drop());

  it('keeps every queued message and binding, and is a no-op the second time', async () => {
    // What an earlier version declared: classic durable queues, holding messages.
    const conn = await amqp.connect(vhost.url);
    const ch = await conn.createConfirmChannel();
    await ch.assertExchange(EXCHANGES.events, 'topic', { durable: true });
    await ch.assertExchange(EXCHANGES.deadLetter, 'direct', { durable: true });
    const q = QUEUES.persistence.name;
    await ch.assertQueue(deadLetterQueue(q), { durable: true });
    await ch.bindQueue(deadLetterQueue(q), EXCHANGES.deadLetter, q);
    await ch.assertQueue(q, {
      durable: true,
      arguments: { 'x-dead-letter-exchange': EXCHANGES.deadLetter, 'x-dead-letter-routing-key': q },
    });
    await ch.bindQueue(q, EXCHANGES.events, 'message.created');
    for (let i = 0; i < 25; i++)
      ch.publish(EXCHANGES.events, 'message.created', Buffer.from(`m${i}`), {
        persistent: true,
        messageId: `id-${i}`,
        headers: { traceId: `t${i}` },
      });
    ch.sendToQueue(deadLetterQueue(q), Buffer.from('dead'), { persistent: true });
    await ch.waitForConfirms();
    await conn.close();
    expect(await queueType(vhost, q)).toBe('classic');

    const report = await migrateToQuorum(vhost.url);
    expect(report.migrated).toEqual(
      expect.arrayContaining([
        { queue: q, moved: 25 },
        { queue: deadLetterQueue(q), moved: 1 },
      ]),
    );
    expect(await queueType(vhost, q)).toBe('quorum');
    expect(await queueType(vhost, deadLetterQueue(q))).toBe('quorum');

    const after = await amqp.connect(vhost.url);
    const c2 = await after.createConfirmChannel();
    // Still bound: a new event lands in the quorum queue, after the moved ones, in order.
    c2.publish(EXCHANGES.events, 'message.created', Buffer.from('m25'), { persistent: true });
    await c2.waitForConfirms();
    const bodies: string[] = [];
    for (let m = await c2.get(q, { noAck: true }); m; m = await c2.get(q, { noAck: true })) {
      bodies.push(m.content.toString());
      if (bodies.length === 1)
        expect(m.properties).toMatchObject({ messageId: 'id-0', headers: expect.objectContaining({ traceId: 't0' }) });
    }
    expect(bodies).toEqual(Array.from({ length: 26 }, (_, i) => `m${i}`));
    expect((await c2.checkQueue(deadLetterQueue(q))).messageCount).toBe(1);
    const probe = await after.createChannel();
    probe.on('error', () => undefined);
    await expect(probe.checkQueue(`${q}.migrating`)).rejects.toThrow(/NOT_FOUND/);
    await after.close().catch(() => undefined);

    expect((await migrateToQuorum(vhost.url)).migrated).toEqual([]);
  });
});
