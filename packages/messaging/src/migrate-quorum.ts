import amqp, { type ChannelModel, type ConfirmChannel } from 'amqplib';
import { EXCHANGES, applyTopology, durableQueues } from './topology';
import { BrokerTargets, brokerUrls } from './urls';

type QueueDef = ReturnType<typeof durableQueues>[number];

export interface MigrationReport {
  /** Queues that were classic and are quorum now, with the messages moved. */
  migrated: Array<{ queue: string; moved: number }>;
  /** Queues already quorum (or not declared yet: the services declare them). */
  unchanged: string[];
}

/**
 * Turns the classic durable queues an earlier version declared into quorum queues, keeping their
 * messages. A queue cannot change type in place, so each one goes through a temporary quorum queue:
 *   1. declare `<q>.migrating` (quorum) and give it `<q>`'s bindings, then unbind `<q>`: from here on
 *      new messages land in the temporary queue;
 *   2. move every message of `<q>` into it (publish with a confirm, then ack);
 *   3. delete `<q>`, declare it again as quorum with its bindings, unbind the temporary queue;
 *   4. move the temporary queue's messages back and delete it.
 * Run it with the queues' consumers stopped (`npm start` does it before starting the services):
 * a consumer would hold messages unacked and block the deletion. Between steps 1 and the unbind a
 * message may be routed to both queues, so it may arrive twice; every consumer is idempotent.
 */
export async function migrateToQuorum(url: string): Promise<MigrationReport> {
  const conn = await amqp.connect(new BrokerTargets(brokerUrls(url)).target);
  conn.on('error', () => undefined);
  const report: MigrationReport = { migrated: [], unchanged: [] };
  try {
    // The exchanges must exist for the bindings; the queues are left to the loop (a classic one would
    // refuse applyTopology's quorum declaration).
    const setup = await conn.createChannel();
    await setup.assertExchange(EXCHANGES.events, 'topic', { durable: true });
    await setup.assertExchange(EXCHANGES.deadLetter, 'direct', { durable: true });
    for (const q of durableQueues()) {
      const state = await queueState(conn, q);
      if (state !== 'classic') {
        // A migration interrupted after `<q>` was deleted left its messages in `<q>.migrating`.
        const moved = (await exists(conn, `${q.name}.migrating`)) ? await moveBack(conn, q) : null;
        if (moved === null) report.unchanged.push(q.name);
        else report.migrated.push({ queue: q.name, moved });
        continue;
      }
      report.migrated.push({ queue: q.name, moved: await migrateOne(conn, q) });
    }
    await applyTopology(setup);
    await setup.close();
  } finally {
    await conn.close().catch(() => undefined);
  }
  return report;
}

/** A declaration with the quorum arguments answers: fine (quorum or new), or 406 (another type). */
async function queueState(conn: ChannelModel, q: QueueDef): Promise<'absent' | 'quorum' | 'classic'> {
  if (!(await exists(conn, q.name))) return 'absent';
  const probe = await conn.createChannel();
  probe.on('error', () => undefined);
  try {
    await probe.assertQueue(q.name, { durable: true, arguments: q.args });
    await probe.close();
    return 'quorum';
  } catch (err) {
    if (/PRECONDITION_FAILED/.test((err as Error).message) && /x-queue-type/.test((err as Error).message))
      return 'classic';
    throw err;
  }
}

async function migrateOne(conn: ChannelModel, q: QueueDef): Promise<number> {
  const temp = `${q.name}.migrating`;
  // Two channels: a channel that published to the classic `<q>` keeps that queue's state after it is
  // deleted, and RabbitMQ 3.10 fails publishing on it to the quorum queue of the same name.
  const moved = await withChannel(conn, async (ch) => {
    await ch.assertQueue(temp, { durable: true, arguments: q.args });
    for (const b of q.bindings) await ch.bindQueue(temp, b.exchange, b.key);
    for (const b of q.bindings) await ch.unbindQueue(q.name, b.exchange, b.key);
    const n = await move(ch, q.name, temp);
    await ch.deleteQueue(q.name, { ifEmpty: true });
    return n;
  });
  await moveBack(conn, q);
  return moved;
}

/** Declares `<q>` as quorum with its bindings and empties `<q>.migrating` into it; returns the count moved. */
async function moveBack(conn: ChannelModel, q: QueueDef): Promise<number> {
  const temp = `${q.name}.migrating`;
  return withChannel(conn, async (ch) => {
    await ch.assertQueue(q.name, { durable: true, arguments: q.args });
    for (const b of q.bindings) await ch.bindQueue(q.name, b.exchange, b.key);
    for (const b of q.bindings) await ch.unbindQueue(temp, b.exchange, b.key);
    const n = await move(ch, temp, q.name);
    // Quorum queues refuse delete-if-empty; nothing routes to the temporary queue any more, so empty now is empty for good.
    const left = (await ch.checkQueue(temp)).messageCount;
    if (left !== 0) throw new Error(`${temp} still holds ${left} messages; run the migration again`);
    await ch.deleteQueue(temp);
    return n;
  });
}

async function exists(conn: ChannelModel, queue: string): Promise<boolean> {
  const ch = await conn.createChannel();
  ch.on('error', () => undefined);
  try {
    await ch.checkQueue(queue);
    return true;
  } catch {
    return false;
  } finally {
    await ch.close().catch(() => undefined);
  }
}

async function withChannel<T>(conn: ChannelModel, fn: (ch: ConfirmChannel) => Promise<T>): Promise<T> {
  const ch = await conn.createConfirmChannel();
  try {
    return await fn(ch);
  } finally {
    await ch.close().catch(() => undefined);
  }
}

/** Moves every message, one at a time: each is acked only once its copy is confirmed. */
async function move(ch: ConfirmChannel, from: string, to: string): Promise<number> {
  let n = 0;
  for (;;) {
    const msg = await ch.get(from, { noAck: false });
    if (!msg) return n;
    await publish(ch, to, msg.content, msg.properties);
    ch.ack(msg);
    n++;
  }
}

function publish(
  ch: ConfirmChannel,
  queue: string,
  content: Buffer,
  properties: amqp.MessageProperties,
): Promise<void> {
  const { headers, ...rest } = properties;
  const options: amqp.Options.Publish = { persistent: true, headers: withoutBrokerCount(headers) };
  for (const [k, v] of Object.entries(rest)) if (v !== undefined) (options as Record<string, unknown>)[k] = v;
  return new Promise((resolve, reject) =>
    ch.sendToQueue(queue, content, options, (err: unknown) =>
      err ? reject(err instanceof Error ? err : new Error('the broker refused the message')) : resolve(),
    ),
  );
}

/** A quorum queue stamps `x-delivery-count` on what it delivers: that count belongs to the old copy. */
function withoutBrokerCount(headers: Record<string, unknown> | undefined): Record<string, unknown> | undefined {
  if (!headers || !('x-delivery-count' in headers)) return headers;
  const { 'x-delivery-count': _dropped, ...rest } = headers;
  return rest;
}
