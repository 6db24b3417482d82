import amqp from 'amqplib';
import { createTestVhost, waitFor, type TestVhost } from '@chat/testkit';
import { corkFrameWrites } from './cork';

describe('corkFrameWrites against a real RabbitMQ', () => {
  let vhost: TestVhost;
  let model: amqp.ChannelModel;

  beforeEach(async () => {
    vhost = await createTestVhost();
    model = await amqp.connect(vhost.url);
  });
  afterEach(async () => {
    await model.close().catch(() => undefined);
    await vhost.drop();
  });

  it("applies to amqplib's connection, and a burst of publishes and acks arrives whole and in order", async () => {
    expect(corkFrameWrites(model)).toBe(true);
    expect(corkFrameWrites(model)).toBe(true); // idempotent
    const pub = await model.createConfirmChannel();
    const sub = await model.createChannel();
    const { queue } = await sub.assertQueue('', { exclusive: true });
    const got: number[] = [];
    await sub.consume(queue, (msg) => {
      if (!msg) return;
      got.push(Number(msg.content.toString()));
      sub.ack(msg); // acks are frames written through the corked path too
    });
    // Bodies of many sizes (one byte to past the socket's high-water mark) interleaved in one tick.
    for (let i = 0; i < 2_000; i++)
      pub.sendToQueue(queue, Buffer.from(String(i).padEnd(i % 7 === 0 ? 20_000 : 1, ' ')));
    await pub.waitForConfirms();
    await waitFor(() => got.length === 2_000, 60_000, 'every message consumed');
    expect(got).toEqual(Array.from({ length: 2_000 }, (_, i) => i));
    // Every ack reached the broker: closing the consumer's channel requeues whatever was not acked.
    await waitFor(
      async () => {
        const ch = await model.createChannel();
        const q = await ch.checkQueue(queue);
        await ch.close();
        return q.messageCount === 0 && q.consumerCount === 1;
      },
      60_000,
      'the queue drained',
    );
    await sub.close();
    const ch = await model.createChannel();
    expect((await ch.checkQueue(queue)).messageCount).toBe(0);
  });

  it('leaves a connection of an unexpected shape alone', () => {
    expect(corkFrameWrites({} as amqp.ChannelModel)).toBe(false);
  });
});
