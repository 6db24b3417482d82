import { randomUUID } from 'node:crypto';
import amqp from 'amqplib';
import type { Message } from '@chat/contracts';
import { EXCHANGES, QUEUES, deadLetterQueue } from '@chat/messaging';
import { queueDepth, waitFor } from '@chat/testkit';
import { messageId, startHarness, textMessage, type Harness } from './harness';

const QUEUE = QUEUES.persistence.name;

describe('the persistence.events consumer', () => {
  let h: Harness;
  const alice = randomUUID();
  const bob = randomUUID();

  beforeEach(async () => {
    h = await startHarness();
  });
  afterEach(() => h.close());

  const count = async (conversationId: string) =>
    Number(
      (
        await h.database.pool.query('select count(*) from persistence.messages where conversation_id = $1', [
          conversationId,
        ])
      ).rows[0].count,
    );
  const drained = () =>
    waitFor(async () => (await queueDepth(h.vhost, QUEUE)).ready === 0, 15_000, 'the queue to drain');

  it('stores a resend (same sender and clientMsgId, new id) and a redelivery (same id) once, the first one winning', async () => {
    const c = randomUUID();
    await h.setMembers(c, [alice, bob]);
    const first = textMessage(c, alice, { id: messageId(1), body: 'first' });
    const resend = { ...first, id: messageId(2), body: 'resent' };
    const other = textMessage(c, bob, { id: messageId(3) });
    // In one batch (published while the consumer is stopped) ...
    for (const m of [first, resend, first, other, other]) await h.publisher.publish('message.created', m);
    await h.startConsumer();
    await drained();
    // ... and across batches.
    for (const m of [first, resend, other]) await h.publisher.publish('message.created', m);
    await drained();
    await waitFor(async () => (await h.history(c, alice)).body.messages?.length === 2, 15_000, 'two messages');
    expect(await count(c)).toBe(2);
    expect((await h.history(c, alice)).body.messages).toEqual([first, other]);
  });

  it('dead-letters malformed events in a batch and stores the valid ones', async () => {
    const c = randomUUID();
    await h.setMembers(c, [alice]);
    const valid = [1, 2, 3].map((n) => textMessage(c, alice, { id: messageId(n) }));
    const conn = await amqp.connect(h.vhost.url);
    const ch = await conn.createConfirmChannel();
    const raw = (body: unknown) =>
      ch.publish(
        EXCHANGES.events,
        'message.created',
        Buffer.from(typeof body === 'string' ? body : JSON.stringify(body)),
        { persistent: true },
      );
    await h.publisher.publish('message.created', valid[0]!);
    raw('not json');
    raw({
      v: 1,
      type: 'message.created',
      id: randomUUID(),
      occurredAt: new Date().toISOString(),
      traceId: 't',
      payload: { ...valid[0], id: 'bad-id' },
    });
    // Valid for the envelope schema, but a text message without a body cannot be history.
    const { body: _drop, ...noBody } = textMessage(c, alice);
    raw({
      v: 1,
      type: 'message.created',
      id: randomUUID(),
      occurredAt: new Date().toISOString(),
      traceId: 't',
      payload: noBody,
    });
    await ch.waitForConfirms();
    await conn.close();
    await h.publisher.publish('message.created', valid[1]!);
    await h.publisher.publish('message.created', valid[2]!);
    // A quorum queue's count follows its confirms asynchronously: read it until it shows all seven.
    await waitFor(async () => (await queueDepth(h.vhost, QUEUE)).ready === 7, 15_000, 'seven queued');

    await h.startConsumer();
    await waitFor(
      async () => (await queueDepth(h.vhost, deadLetterQueue(QUEUE))).ready === 3,
      10_000,
      'three dead letters',
    );
    await drained();
    // The queue is empty once everything is delivered, not stored: the last valid one may be in a later
    // batch than the refused row (the third dead letter). Wait for history to hold all three.
    await waitFor(async () => (await h.history(c, alice)).body.messages?.length === 3, 10_000, 'three stored');
    expect((await h.history(c, alice)).body.messages.map((m: Message) => m.id)).toEqual(valid.map((m) => m.id));
  });

  it('stores a 500-message batch with one row the database refuses: the 499 others stored, the refused one dead-lettered alone', async () => {
    const c = randomUUID();
    await h.setMembers(c, [alice]);
    const batch = Array.from({ length: 500 }, (_, i) =>
      textMessage(c, alice, { id: messageId(1000 + i), body: i === 137 ? 'nul \u0000 inside' : `m${i}` }),
    );
    // One broker message carrying all 500, as a gateway's publish batch does.
    await h.publisher.publishBatch(
      'message.created',
      batch.map((payload) => ({ payload, opts: { id: payload.id } })),
    );
    await h.startConsumer();
    await waitFor(
      async () => (await queueDepth(h.vhost, deadLetterQueue(QUEUE))).ready === 1,
      15_000,
      'the refused row dead-lettered',
    );
    await drained();
    // Drained is delivered, not yet committed: read the table until the 499 are there.
    await waitFor(async () => (await count(c)) === 499, 15_000, '499 rows');
    const stored = new Set(
      (await h.database.pool.query('select id from persistence.messages where conversation_id = $1', [c])).rows.map(
        (r: { id: string }) => r.id,
      ),
    );
    expect(stored.has(batch[137]!.id)).toBe(false);
  });

  it('a batch of messages only (one autocommitted statement) with a refused row: the rest stored in seq order, the refused one dead-lettered', async () => {
    // No conversation.changed or read in the queue: the batch takes the one-statement path, which the
    // database refuses as a whole; the batch is then stored again under savepoints.
    const c = randomUUID();
    const batch = Array.from({ length: 50 }, (_, i) =>
      textMessage(c, alice, { id: messageId(2000 + i), body: i === 17 ? 'nul \u0000 inside' : `m${i}` }),
    );
    await h.publisher.publishBatch(
      'message.created',
      batch.map((payload) => ({ payload, opts: { id: payload.id } })),
    );
    await h.startConsumer();
    await waitFor(
      async () => (await queueDepth(h.vhost, deadLetterQueue(QUEUE))).ready === 1,
      15_000,
      'the refused row dead-lettered',
    );
    await waitFor(async () => (await count(c)) === 49, 15_000, '49 rows');
    const stored = await h.database.pool.query<{ id: string; seq: string }>(
      'select id, seq from persistence.messages where conversation_id = $1 order by seq',
      [c],
    );
    const expected = batch.filter((_, i) => i !== 17).map((m) => m.id);
    expect(stored.rows.map((r) => r.id)).toEqual(expected);
    // The failed statement spent nothing: seqs 1..49, in id order.
    expect(stored.rows.map((r) => Number(r.seq))).toEqual(expected.map((_, i) => i + 1));
  });

  it('guarantee 2: 500 events confirmed while the consumer is stopped are all stored, exactly once, when it starts', async () => {
    const c = randomUUID();
    await h.setMembers(c, [alice, bob]);
    const sent = Array.from({ length: 500 }, (_, i) =>
      textMessage(c, i % 2 ? alice : bob, { id: messageId(10_000 + i), body: `m${i}` }),
    );
    // Confirmed publishes, 50 in flight at a time.
    for (let i = 0; i < sent.length; i += 50)
      await Promise.all(sent.slice(i, i + 50).map((m) => h.publisher.publish('message.created', m)));
    // A quorum queue's count follows its confirms asynchronously: read it until it shows them all.
    await waitFor(async () => (await queueDepth(h.vhost, QUEUE)).ready === 501, 15_000, '501 queued');

    await h.startConsumer();
    await waitFor(async () => (await count(c)) === 500, 20_000, '500 rows');
    await drained();
    const ids: string[] = [];
    // Walk the whole history with after= from the start.
    let cursor = messageId(0);
    for (;;) {
      const page = (await h.history(c, bob, { after: cursor, limit: 100 })).body;
      ids.push(...page.messages.map((m: Message) => m.id));
      if (!page.hasMore) break;
      cursor = page.messages.at(-1).id;
    }
    expect(ids.length).toBe(500);
    expect(new Set(ids).size).toBe(500);
    expect([...ids].sort()).toEqual(sent.map((m) => m.id));
    expect((await queueDepth(h.vhost, deadLetterQueue(QUEUE))).ready).toBe(0);
  });
});
