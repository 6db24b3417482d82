import amqp, { type GetMessage } from 'amqplib';
import { BrokerTargets, brokerUrls, deadLetterQueue } from '@chat/messaging';

export interface DeadLetter {
  messageId?: string;
  type?: string;
  reason?: string;
  body: string;
}

function describe(msg: GetMessage): DeadLetter {
  const death = (msg.properties.headers?.['x-death'] as Array<{ reason?: string }> | undefined)?.[0];
  return {
    messageId: msg.properties.messageId as string | undefined,
    type: msg.properties.type as string | undefined,
    reason: death?.reason,
    body: msg.content.toString('utf8'),
  };
}

/**
 * Reads (peek) or moves back (replay) the messages of `<queue>.dead`. Replay sends each one to the
 * queue it came from, without its death history and attempt count, so it gets a fresh set of attempts.
 * Peek takes every message and puts them all back (requeue) when done.
 */
export async function processDeadLetters(
  url: string,
  queue: string,
  mode: 'peek' | 'replay',
  limit = Infinity,
): Promise<DeadLetter[]> {
  // AMQP_URL may list a cluster's nodes: any one of them serves the queue.
  const conn = await amqp.connect(new BrokerTargets(brokerUrls(url)).target);
  try {
    const ch = await conn.createConfirmChannel();
    const dead = deadLetterQueue(queue);
    await ch.checkQueue(dead);
    await ch.checkQueue(queue);
    const seen: DeadLetter[] = [];
    const held: GetMessage[] = [];
    while (seen.length < limit) {
      const msg = await ch.get(dead, { noAck: false });
      if (!msg) break;
      seen.push(describe(msg));
      if (mode === 'peek') {
        held.push(msg);
        continue;
      }
      const {
        'x-death': _death,
        'x-first-death-exchange': _e,
        'x-first-death-queue': _q,
        'x-first-death-reason': _r,
        'x-attempts': _a,
        'x-delivery-count': _n,
        ...headers
      } = msg.properties.headers ?? {};
      ch.sendToQueue(queue, msg.content, { ...msg.properties, headers, persistent: true });
      await ch.waitForConfirms();
      ch.ack(msg);
    }
    for (const msg of held) ch.nack(msg, false, true);
    await ch.close();
    return seen;
  } finally {
    await conn.close().catch(() => undefined);
  }
}
