/** The operator's dead-letter tool: peek leaves the messages in place, replay moves them back. */
import amqp from 'amqplib';
import { applyTopology, deadLetterQueue, QUEUES } from '@chat/messaging';
import { createTestVhost, queueDepth, waitFor, type TestVhost } from '@chat/testkit';
import { processDeadLetters } from '../../scripts/lib/dead-letters';

let vhost: TestVhost;
const queue = QUEUES.persistence.name;

beforeAll(async () => {
  vhost = await createTestVhost();
  const conn = await amqp.connect(vhost.url);
  const ch = await conn.createConfirmChannel();
  await applyTopology(ch);
  // Dead-letter two messages the way a consumer does: nack without requeue.
  for (const id of ['m1', 'm2'])
    ch.sendToQueue(queue, Buffer.from(JSON.stringify({ not: 'an envelope', id })), {
      messageId: id,
      persistent: true,
      headers: { 'x-attempts': 4 },
    });
  await ch.waitForConfirms();
  for (let i = 0; i < 2; i++) {
    const msg = await ch.get(queue, { noAck: false });
    if (msg) ch.nack(msg, false, false);
  }
  await ch.close();
  await conn.close();
});

afterAll(() => vhost?.drop());

/**
 * A quorum queue's count follows nacks, requeues and dead-lettering asynchronously: read it until it
 * shows what is expected (a count that stays wrong still fails, with the last value seen).
 */
async function settlesAt(q: string, expected: number): Promise<number> {
  let ready = -1;
  await waitFor(async () => (ready = (await queueDepth(vhost, q)).ready) === expected, 10_000, `${q}`, 100).catch(
    () => undefined,
  );
  return ready;
}

describe('dead letters', () => {
  it('peeks without removing, then replays to the original queue with a fresh attempt count', async () => {
    expect(await settlesAt(deadLetterQueue(queue), 2)).toBe(2);
    const peeked = await processDeadLetters(vhost.url, queue, 'peek');
    expect(peeked.map((l) => l.messageId)).toEqual(['m1', 'm2']);
    expect(peeked[0]?.reason).toBe('rejected');
    expect(await settlesAt(deadLetterQueue(queue), 2)).toBe(2);

    const replayed = await processDeadLetters(vhost.url, queue, 'replay', 1);
    expect(replayed).toHaveLength(1);
    expect(await settlesAt(deadLetterQueue(queue), 1)).toBe(1);
    expect(await settlesAt(queue, 1)).toBe(1);

    const conn = await amqp.connect(vhost.url);
    const ch = await conn.createChannel();
    const back = await ch.get(queue, { noAck: true });
    await conn.close();
    expect(back && back.properties.messageId).toBe('m1');
    expect(back && back.properties.headers?.['x-attempts']).toBeUndefined();
    expect(back && back.properties.headers?.['x-death']).toBeUndefined();
  });
});
