/** A consumer's first batch after a (re)connect sees the broker connected: it can publish at once. */
import { silentLogger } from '@chat/logger';
import { createTestVhost, textMessage, waitFor, type TestVhost } from '@chat/testkit';
import { Broker } from './broker';
import { QUEUES } from './topology';

let vhost: TestVhost;
beforeAll(async () => {
  vhost = await createTestVhost();
});
afterAll(() => vhost.drop());

it('counts itself connected before its consumers get their first batch', async () => {
  const publisher = new Broker({ url: vhost.url, logger: silentLogger() });
  await publisher.connect();
  const m = textMessage('queued');
  await publisher.publish('message.created', m);
  await publisher.close();

  const consumer = new Broker({ url: vhost.url, logger: silentLogger() });
  const seen: boolean[] = [];
  // Registered before connecting, as services do: it starts inside the connection's set-up.
  await consumer.consume({ queue: QUEUES.persistence.name, handle: async () => void seen.push(consumer.isConnected) });
  await consumer.connect();
  await waitFor(() => seen.length > 0, 15_000, 'the queued message');
  expect(seen[0]).toBe(true);
  await consumer.close();
});

it('is ready (what /readyz reports) only once every consumer is consuming, connected before that', async () => {
  const b = new Broker({ url: vhost.url, logger: silentLogger() });
  let release!: () => void;
  const held = new Promise<void>((r) => (release = r));
  let declaring = false;
  await b.consume({
    queue: QUEUES.persistence.name,
    // Holds this consumer's start inside the set-up.
    declare: async () => {
      declaring = true;
      await held;
    },
    handle: async () => undefined,
  });
  const connecting = b.connect();
  await waitFor(() => declaring, 10_000, 'the consumer starting');
  expect(b.isConnected).toBe(true);
  expect(b.isReady).toBe(false);
  release();
  await connecting;
  await waitFor(() => b.isReady, 10_000, 'ready');
  await b.close();
  expect(b.isReady).toBe(false);
});
