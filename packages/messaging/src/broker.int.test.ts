import { randomUUID } from 'node:crypto';
import amqp from 'amqplib';
import { createServer, type AddressInfo } from 'node:net';
import { silentLogger } from '@chat/logger';
import { createTestVhost, queueDepth, waitFor, type TestVhost, textMessage } from '@chat/testkit';
import { ENVELOPE_VERSION, type Envelope } from '@chat/contracts';
import { Broker } from './broker';
import { PublishBatcher } from './publish-batcher';
import { EXCHANGES, QUEUES, deadLetterQueue } from './topology';

const message = () => textMessage();

describe('Broker against a real RabbitMQ', () => {
  let vhost: TestVhost;
  const brokers: Broker[] = [];
  const broker = async () => {
    const b = new Broker({ url: vhost.url, logger: silentLogger() });
    brokers.push(b);
    await b.connect();
    return b;
  };

  beforeEach(async () => {
    vhost = await createTestVhost();
  });
  afterEach(async () => {
    await Promise.all(brokers.splice(0).map((b) => b.close()));
    await vhost.drop();
  });

  it('publishes with a confirm and consumes the envelope back', async () => {
    const b = await broker();
    const got: Envelope[] = [];
    await b.consume({
      queue: QUEUES.persistence.name,
      handle: async (items) => void got.push(...(items as Envelope[])),
    });
    const m = message();
    const env = await b.publish('message.created', m, { traceId: 'trace-1' });
    await waitFor(() => got.length === 1, 15_000, 'the consumed event');
    expect(got[0]).toMatchObject({ v: 1, type: 'message.created', id: env.id, traceId: 'trace-1', payload: m });
  });

  it('keeps what was published while the consumer was down and delivers it when it comes back', async () => {
    const publisher = await broker();
    for (let i = 0; i < 20; i++) await publisher.publish('message.created', { ...message(), body: `m${i}` });
    // A quorum queue's count follows its confirms asynchronously: read it until it shows all 20.
    await waitFor(async () => (await queueDepth(vhost, QUEUES.persistence.name)).ready === 20, 15_000, '20 queued');
    const consumer = await broker();
    const bodies: string[] = [];
    await consumer.consume({
      queue: QUEUES.persistence.name,
      handle: async (items) =>
        void bodies.push(...(items as Envelope<'message.created'>[]).map((e) => e.payload.body!)),
    });
    await waitFor(() => bodies.length === 20, 15_000, 'the backlog');
    expect(bodies).toEqual(Array.from({ length: 20 }, (_, i) => `m${i}`));
  });

  it('dead-letters a malformed message instead of handing it to the handler', async () => {
    const b = await broker();
    const handled: unknown[] = [];
    await b.consume({ queue: QUEUES.persistence.name, handle: async (items) => void handled.push(...items) });
    const conn = await amqp.connect(vhost.url);
    const ch = await conn.createConfirmChannel();
    ch.publish(EXCHANGES.events, 'message.created', Buffer.from('{"not":"an envelope"}'));
    ch.publish(EXCHANGES.events, 'message.created', Buffer.from('not json'));
    await ch.waitForConfirms();
    await conn.close();
    await b.publish('message.created', message());
    await waitFor(() => handled.length === 1, 15_000, 'the valid message');
    await waitFor(
      async () => (await queueDepth(vhost, deadLetterQueue(QUEUES.persistence.name))).ready === 2,
      15_000,
      'two dead letters',
    );
  });

  it('retries a failing message a bounded number of times, then dead-letters it', async () => {
    const b = await broker();
    let attempts = 0;
    await b.consume({
      queue: QUEUES.persistence.name,
      maxAttempts: 3,
      handle: async () => {
        attempts++;
        throw new Error('handler bug');
      },
    });
    await b.publish('message.created', message());
    await waitFor(
      async () => (await queueDepth(vhost, deadLetterQueue(QUEUES.persistence.name))).ready === 1,
      15_000,
      'the dead letter',
    );
    expect(attempts).toBe(3);
  });

  it('settles every message of batched consumption exactly once: good ones acked, malformed and poison ones dead-lettered', async () => {
    // A backlog first, so the consumer takes it in batches.
    const publisher = await broker();
    const conn = await amqp.connect(vhost.url);
    const ch = await conn.createConfirmChannel();
    for (let i = 0; i < 300; i++) {
      if (i % 50 === 7) ch.publish(EXCHANGES.events, 'message.created', Buffer.from('not json'));
      await publisher.publish('message.created', { ...message(), body: i % 50 === 20 ? 'poison' : `m${i}` });
    }
    await ch.waitForConfirms();
    await conn.close();
    const consumer = await broker();
    const handled = new Map<string, number>();
    await consumer.consume({
      queue: QUEUES.persistence.name,
      batchSize: 40,
      maxAttempts: 1,
      handle: async (items) => {
        const bodies = (items as Envelope<'message.created'>[]).map((e) => e.payload.body!);
        if (bodies.includes('poison')) throw new Error('poison in the batch');
        for (const body of bodies) handled.set(body, (handled.get(body) ?? 0) + 1);
      },
    });
    await waitFor(
      async () => (await queueDepth(vhost, deadLetterQueue(QUEUES.persistence.name))).ready === 12,
      30_000,
      'six malformed and six poison messages dead-lettered',
    );
    await waitFor(() => handled.size === 294, 30_000, 'every good message handled');
    // Closing the consumer requeues whatever it had not acked: nothing may come back.
    await consumer.close();
    await waitFor(
      async () => (await queueDepth(vhost, QUEUES.persistence.name)).consumers === 0,
      30_000,
      'the consumer gone',
    );
    expect((await queueDepth(vhost, QUEUES.persistence.name)).ready).toBe(0);
    expect([...handled.values()].every((n) => n === 1)).toBe(true);
  });

  it('closed before its first connection (a broker that never answered): connect() settles without an error', async () => {
    // A port nothing listens on.
    const server = createServer().listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    const { port } = server.address() as AddressInfo;
    await new Promise((r) => server.close(r));
    const b = new Broker({ url: `amqp://guest:guest@127.0.0.1:${port}/`, logger: silentLogger() });
    const connecting = b.connect();
    await b.close();
    await expect(connecting).resolves.toBeUndefined();
    expect(b.isConnected).toBe(false);
    await expect(b.publish('message.created', message())).rejects.toMatchObject({ code: 'UNAVAILABLE' });
  });

  it('refuses to publish with UNAVAILABLE once closed', async () => {
    const b = await broker();
    await b.close();
    await expect(b.publish('message.created', message())).rejects.toMatchObject({
      code: 'UNAVAILABLE',
      retryable: true,
    });
  });

  it('is not connected while a reconnect fails half-way through its set-up (a consumer that cannot start)', async () => {
    const b = await broker();
    const ghost = `ghost-${randomUUID()}`;
    const conn = await amqp.connect(vhost.url);
    const ch = await conn.createChannel();
    await ch.assertQueue(ghost, { durable: false });
    await b.consume({ queue: ghost, handle: async () => undefined });
    await ch.deleteQueue(ghost);
    await conn.close();
    expect(b.isConnected).toBe(true);
    // The connection drops; the set-up after it gets past the confirm channel, then fails at the consumer.
    const model = (b as unknown as { model: NodeJS.EventEmitter & { close(): Promise<void> } }).model;
    const failed = new Promise<void>((resolve) => model.once('connect-failed', () => resolve()));
    await (b as unknown as { current: { close(): Promise<void> } }).current.close();
    await failed;
    expect(b.isConnected).toBe(false);
    await expect(b.publish('message.created', message())).rejects.toMatchObject({ code: 'UNAVAILABLE' });
  });

  it('carries a batch of events in one broker message and hands each to the handler; a bad one is dead-lettered alone', async () => {
    const b = await broker();
    const got: Envelope[] = [];
    const published = await b.publishBatch(
      'message.created',
      [1, 2, 3].map((i) => ({ payload: { ...message(), body: `b${i}` } })),
    );
    await waitFor(async () => (await queueDepth(vhost, QUEUES.persistence.name)).ready === 1, 15_000, 'one queued');
    // A batch whose second event is malformed, published by hand.
    const conn = await amqp.connect(vhost.url);
    const ch = await conn.createConfirmChannel();
    const good = b.envelope('message.created', { ...message(), body: 'good' });
    ch.publish(
      EXCHANGES.events,
      'message.created',
      Buffer.from(
        JSON.stringify({ v: ENVELOPE_VERSION, batch: [good, { v: 1, type: 'message.created', payload: { body: 1 } }] }),
      ),
    );
    await ch.waitForConfirms();
    await conn.close();
    await b.consume({
      queue: QUEUES.persistence.name,
      handle: async (items) => void got.push(...(items as Envelope[])),
    });
    await waitFor(() => got.length === 4, 15_000, 'four events out of two broker messages');
    expect(got.map((e) => e.id)).toEqual([...published.map((e) => e.id), good.id]);
    await waitFor(
      async () => (await queueDepth(vhost, deadLetterQueue(QUEUES.persistence.name))).ready === 1,
      15_000,
      'one dead letter',
    );
  });

  it('batches publishes made while a confirm is outstanding, and publishes a lone one at once', async () => {
    const b = await broker();
    const batcher = new PublishBatcher(b, 'message.created', { windowMs: 2, maxItems: 50 });
    const lone = await batcher.publish(message());
    expect(lone.type).toBe('message.created');
    const confirmed = await Promise.all(
      Array.from({ length: 200 }, (_, i) => batcher.publish({ ...message(), body: `m${i}` })),
    );
    expect(new Set(confirmed.map((e) => e.id)).size).toBe(200);
    // 201 events in at most 1 + ceil(200 / 50) + a few window flushes, far fewer than 201 messages. The
    // quorum queue's count follows the confirms asynchronously: read until it shows more than the lone one.
    const depth = await waitFor(
      async () => {
        const { ready } = await queueDepth(vhost, QUEUES.persistence.name);
        return ready > 1 ? ready : null;
      },
      15_000,
      'the batches queued',
    );
    expect(depth).toBeLessThan(20);
  });

  it('acks a private queue together: past the prefetch without waiting for the timer, and what is handled is acked on close', async () => {
    const publisher = await broker();
    // Declared like a private queue, but not exclusive so that the test can count it.
    const privateLike = async (prefetch: number, count: number) => {
      const queue = `private.${randomUUID()}`;
      const consumer = await broker();
      const handled: number[] = [];
      await consumer.consume<{ n: number }>({
        queue,
        frame: 'single',
        parse: (raw) => raw as { n: number },
        declare: async (ch) => void (await ch.assertQueue(queue, { durable: false })),
        prefetch,
        // Far longer than the test: only the half-prefetch rule and the flush on close can ack.
        ackEveryMs: 600_000,
        handle: async (items) => void handled.push(...items.map((i) => i.n)),
      });
      for (let n = 0; n < count; n++) await publisher.publishRaw('', queue, Buffer.from(JSON.stringify({ n })), {});
      await waitFor(() => handled.length === count, 10_000, `all ${count} handled`);
      await consumer.close();
      expect(handled).toEqual(Array.from({ length: count }, (_, n) => n));
      return queue;
    };
    // 40 messages through at most 8 unacked: handled only if acks went out before the timer.
    const busy = await privateLike(8, 40);
    // 10 messages, never half the prefetch: acked only by the flush on close, else back in the queue.
    const quiet = await privateLike(100, 10);
    expect((await queueDepth(vhost, busy)).ready).toBe(0);
    expect((await queueDepth(vhost, quiet)).ready).toBe(0);
  });

  it('with a linger, a steady stream shares broker messages while the first send after a pause never waits', async () => {
    const b = await broker();
    const before = (await queueDepth(vhost, QUEUES.persistence.name)).ready;
    // A linger far longer than the test's timeout: the first publish would time out if it waited.
    const patient = new PublishBatcher(b, 'message.created', { windowMs: 2, maxItems: 50, lingerMs: 60_000 });
    await expect(patient.publish(message())).resolves.toMatchObject({ type: 'message.created' });

    // A stream of one send every 5 ms, each published before the previous confirm is awaited: with a
    // 200 ms linger they gather into a few broker messages (each alone would be 20). A loaded machine
    // stretches the 5 ms sleeps, so the stream spans more 200 ms windows: the bound is half of 20.
    const batcher = new PublishBatcher(b, 'message.created', { windowMs: 2, maxItems: 50, lingerMs: 200 });
    const pending: Promise<unknown>[] = [];
    for (let i = 0; i < 20; i++) {
      pending.push(batcher.publish({ ...message(), body: `s${i}` }));
      await new Promise((r) => setTimeout(r, 5));
    }
    await Promise.all(pending);
    // Confirmed means stored; the count is read until it shows the stream (1 for the lone publish).
    let added = 0;
    await waitFor(
      async () => (added = (await queueDepth(vhost, QUEUES.persistence.name)).ready - before - 1) >= 1,
      10_000,
      'the stream in the queue',
    );
    expect(added).toBeLessThanOrEqual(10);
  });
});
