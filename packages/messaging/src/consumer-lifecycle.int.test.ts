import { silentLogger } from '@chat/logger';
import { createTestVhost, queueDepth, waitFor, type TestVhost, textMessage } from '@chat/testkit';
import type { Envelope } from '@chat/contracts';
import { Broker } from './broker';
import { QUEUES } from './topology';

const message = (i: number) => textMessage(`m${i}`);

/**
 * A graceful stop acks what it handled, and the quorum queue must forget those messages: RabbitMQ may
 * apply acks sent right before a channel closes after the close, returning handled messages to the
 * queue (they were handled again after a restart). Several stops, since one alone loses acks only
 * about one time in two when the consumer gets it wrong.
 */
describe('consumer lifecycle', () => {
  let vhost: TestVhost;
  beforeAll(async () => {
    vhost = await createTestVhost();
  });
  afterAll(async () => {
    await vhost.drop();
  });

  it('stopped mid-stream, leaves in the queue exactly what it did not handle, stop after stop', async () => {
    const queue = QUEUES.persistence.name;
    const publisher = new Broker({ url: vhost.url, logger: silentLogger() });
    await publisher.connect();
    const handled = new Set<string>();
    let published = 0;
    try {
      for (let round = 0; round < 5; round++) {
        await Promise.all(Array.from({ length: 300 }, (_, i) => publisher.publish('message.created', message(i))));
        published += 300;
        const consumer = new Broker({ url: vhost.url, logger: silentLogger() });
        const before = handled.size;
        await consumer.consume({
          queue,
          batchSize: 50,
          prefetch: 200,
          handle: async (items) => {
            await new Promise((r) => setTimeout(r, 5));
            for (const e of items as Envelope[]) handled.add(e.id);
          },
        });
        await consumer.connect();
        await waitFor(() => handled.size >= before + 100, 15_000, 'a few batches handled');
        await consumer.close();
        // The count follows the acks asynchronously: poll until it settles. An acked message that went
        // back to the queue keeps it above the expected value for good.
        let ready = -1;
        await waitFor(
          async () => (ready = (await queueDepth(vhost, queue)).ready) === published - handled.size,
          10_000,
          'the queue count to settle',
          200,
        ).catch(() => undefined);
        expect({ round, ready }).toEqual({ round, ready: published - handled.size });
      }
    } finally {
      await publisher.close();
    }
  }, 120_000);

  it('registered while the connection is starting its consumers, starts once, not twice', async () => {
    const b = new Broker({ url: vhost.url, logger: silentLogger() });
    try {
      await b.consume({ queue: QUEUES.persistence.name, handle: async () => undefined });
      const connecting = b.connect();
      // The set-up marks the broker connected, then starts the registered consumers one by one: register
      // another in that window.
      while (!b.isConnected) await new Promise((r) => setImmediate(r));
      await b.consume({ queue: QUEUES.delivery.name, handle: async () => undefined });
      await connecting;
      expect((await queueDepth(vhost, QUEUES.delivery.name)).consumers).toBe(1);
      expect((await queueDepth(vhost, QUEUES.persistence.name)).consumers).toBe(1);
    } finally {
      await b.close();
    }
  });
});
