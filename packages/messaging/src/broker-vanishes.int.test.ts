/**
 * The broker vanishing (no AMQP goodbye: a killed node, a dropped link) at every moment the client may
 * be busy: in the middle of a (re)connect's set-up, of publishes waiting for their confirms, of a
 * consumer's batch and its acks. None of it may escape as an uncaught exception or an unhandled
 * rejection: a service exits on those (exitOnCrash), and a delivery worker whose broker went away
 * mid-set-up died that way (test/foundation/broker-outage.int.test.ts, "fetch failed" for 30 s).
 * The link is a TCP relay to the real RabbitMQ, cut at the chosen moment.
 */
import { silentLogger } from '@chat/logger';
import { AppError } from '@chat/contracts';
import { createTestVhost, startTcpLink, waitFor, type TcpLink, type TestVhost, textMessage } from '@chat/testkit';
import { Broker } from './broker';
import { QUEUES } from './topology';

jest.setTimeout(60_000);

let vhost: TestVhost;
let link: TcpLink;
const brokers: Broker[] = [];

/** Crashes the process would die of, caught here instead (jest's own handlers are not the product's). */
const escaped: unknown[] = [];
const onEscape = (err: unknown) => void escaped.push(err);

beforeEach(async () => {
  vhost = await createTestVhost();
  const u = new URL(vhost.url);
  link = await startTcpLink({ host: u.hostname, port: Number(u.port) });
  escaped.length = 0;
  process.on('uncaughtException', onEscape);
  process.on('unhandledRejection', onEscape);
});

afterEach(async () => {
  process.off('uncaughtException', onEscape);
  process.off('unhandledRejection', onEscape);
  await Promise.all(brokers.splice(0).map((b) => b.close()));
  await link.close();
  await vhost.drop();
});

function viaLink(extra: Partial<ConstructorParameters<typeof Broker>[0]> = {}): Broker {
  const u = new URL(vhost.url);
  u.port = String(link.port);
  const b = new Broker({ url: u.toString(), logger: silentLogger(), ...extra });
  brokers.push(b);
  return b;
}

/** `p`'s value, or null if it takes longer than `ms`. */
async function within<T>(ms: number, p: Promise<T>): Promise<T | null> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<null>((r) => (timer = setTimeout(() => r(null), ms)));
  try {
    return await Promise.race([p, late]);
  } finally {
    clearTimeout(timer);
  }
}

const message = (body: string) => textMessage(body);

const mgmtAuth = { authorization: `Basic ${Buffer.from('guest:guest').toString('base64')}` };

/** Closes every connection to the test's vhost from the broker's side (CONNECTION_FORCED), as a shutdown does. */
async function closeFromBroker(): Promise<void> {
  const names = await waitFor(
    async () => {
      const res = await fetch(`${vhost.managementUrl}/api/vhosts/${encodeURIComponent(vhost.vhost)}/connections`, {
        headers: mgmtAuth,
      });
      const list = (await res.json()) as Array<{ name: string }>;
      return list.length > 0 ? list.map((c) => c.name) : null;
    },
    20_000,
    'the connection listed by the management API',
    100,
  );
  for (const name of names)
    await fetch(`${vhost.managementUrl}/api/connections/${encodeURIComponent(name)}`, {
      method: 'DELETE',
      headers: mgmtAuth,
    });
}

it('closed by the broker together with the last reply of a set-up: not taken as connected, the next attempt is', async () => {
  const b = viaLink();
  let armed = true;
  let held: Promise<void> = Promise.resolve();
  // The set-up's last step starts this consumer: from its start, the broker's replies wait in the link.
  await b.consume({
    queue: QUEUES.persistence.name,
    handle: async () => undefined,
    declare: async () => {
      if (!armed) return;
      armed = false;
      link.hold();
      held = (async () => {
        await waitFor(() => link.held() > 0, 10_000, 'the prefetch reply');
        link.flush();
        await waitFor(() => link.held() > 0, 10_000, 'the consume reply');
        const consumeOk = link.held();
        await closeFromBroker();
        await waitFor(() => link.held() > consumeOk, 20_000, "the broker's close");
        // The consume reply and the broker's Connection.Close reach the client in one read.
        link.release();
      })();
    },
  });
  await b.connect();
  await held;
  // Whatever the first attempt concluded, the broker ends up connected on a live connection: it publishes.
  await waitFor(() => b.isReady, 20_000, 'set up again');
  await b.publish('message.created', message('after'));
  expect(escaped).toEqual([]);
});

describe.each([
  ['closed (FIN)', false],
  ['reset (RST)', true],
])('a broker link %s', (_name, reset) => {
  it('in the middle of the set-up of a connection: no crash, and the next attempt connects', async () => {
    let attempts = 0;
    const b = viaLink({
      onConnect: async (ch) => {
        attempts++;
        if (attempts > 1) return;
        // The first set-up loses its broker half-way, with its channels open and an operation waiting.
        link.cut({ reset });
        await ch.checkExchange('amq.direct');
      },
    });
    // A consumer registered before connecting starts inside the set-up, as every service's do.
    await b.consume({ queue: QUEUES.persistence.name, handle: async () => undefined });
    await b.connect();
    await waitFor(() => b.isReady, 20_000, 'set up on the second attempt');
    expect(attempts).toBeGreaterThanOrEqual(2);
    await new Promise((r) => setImmediate(r));
    expect(escaped).toEqual([]);
  });

  it('while a consumer starts (its queue declared, its prefetch set): no crash, the next attempt consumes', async () => {
    const b = viaLink();
    let attempts = 0;
    const got: string[] = [];
    await b.consume({
      queue: QUEUES.persistence.name,
      ackEveryMs: 20,
      declare: async (ch) => {
        attempts++;
        if (attempts > 1) return;
        // The first start loses its broker with its channel open, before it consumes.
        const closed = new Promise((r) => ch.once('close', r));
        link.cut({ reset });
        await closed;
      },
      handle: async (items) => void got.push(...items.map((e) => (e as { payload: { body: string } }).payload.body)),
    });
    await b.connect();
    await waitFor(() => b.isReady, 20_000, 'set up on the second attempt');
    await b.publish('message.created', message('consumed'));
    await waitFor(() => got.includes('consumed'), 10_000, 'the message consumed');
    expect(attempts).toBeGreaterThanOrEqual(2);
    expect(escaped).toEqual([]);
  });

  it('while publishes wait for their confirms: each is confirmed or refused as retryable (a lost connection, not a nack), none hangs', async () => {
    const b = viaLink({ confirmTimeoutMs: 20_000 });
    await b.connect();
    const outcomes = Array.from({ length: 200 }, (_, i) =>
      b.publish('message.created', message(`m${i}`)).then(
        () => 'confirmed',
        // A confirm lost with the connection is not the broker refusing the message (a nack).
        (err: unknown) =>
          err instanceof AppError && err.code === 'UNAVAILABLE' && !/refused/.test(err.message)
            ? 'refused'
            : String(err),
      ),
    );
    link.cut({ reset });
    // Long before the confirm timeout: the lost connection fails what was waiting on it.
    const settled = await within(10_000, Promise.all(outcomes));
    expect(settled).not.toBeNull();
    expect(settled!.filter((o) => o !== 'confirmed' && o !== 'refused')).toEqual([]);
    expect(settled).toContain('refused');
    await waitFor(() => b.isReady, 20_000, 'reconnected');
    await b.publish('message.created', message('after'));
    expect(escaped).toEqual([]);
  });

  it("in the middle of a consumer's batch: its acks go nowhere, and the batch comes again on the next connection", async () => {
    const direct = new Broker({ url: vhost.url, logger: silentLogger() });
    brokers.push(direct);
    await direct.connect();
    const b = viaLink();
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const seen: string[] = [];
    let firstBatch: string[] = [];
    let calls = 0;
    await b.consume({
      queue: QUEUES.persistence.name,
      batchSize: 10,
      handle: async (items) => {
        calls++;
        const bodies = items.map((e) => (e as { payload: { body: string } }).payload.body);
        seen.push(...bodies);
        // The first batch is still running when the broker goes; it then publishes on the lost connection.
        if (calls === 1) {
          firstBatch = bodies;
          await held;
          await b.publish('message.created', message('from the handler')).catch(() => undefined);
        }
      },
    });
    await b.connect();
    const all = ['m0', 'm1', 'm2', 'm3', 'm4'];
    for (const m of all) await direct.publish('message.created', message(m));
    await waitFor(() => calls === 1, 10_000, 'the first batch running');
    link.cut({ reset });
    const cutAt = seen.length;
    release();
    // The running batch was unacked on the lost channel: the broker hands it again on the new connection
    // (the old consumer never handles it twice, so a second sighting is the redelivery). The others may
    // have been buffered by the old consumer (handled there too, their acks lost as well) or still on
    // the wire when the link went: each is handled at least once. (Waiting for all five to come twice
    // failed when the last one's delivery was still in the link at the cut: it comes only once.)
    await waitFor(
      () => firstBatch.every((m) => seen.indexOf(m, cutAt) >= 0) && all.every((m) => seen.includes(m)),
      30_000,
      'the batch redelivered',
    );
    expect(firstBatch.length).toBeGreaterThan(0);
    expect(escaped).toEqual([]);
  });

  it('while the service shuts down: close() resolves and nothing escapes', async () => {
    const direct = new Broker({ url: vhost.url, logger: silentLogger() });
    brokers.push(direct);
    await direct.connect();
    const b = viaLink();
    let entered = false;
    await b.consume({
      queue: QUEUES.persistence.name,
      handle: async () => {
        entered = true;
        await new Promise((r) => setTimeout(r, 200));
      },
    });
    await b.connect();
    await direct.publish('message.created', message('last'));
    await waitFor(() => entered, 10_000, 'a batch running');
    link.cut({ reset });
    const closed = await within(
      10_000,
      b.close().then(() => true),
    );
    expect(closed).toBe(true);
    expect(escaped).toEqual([]);
  });
});
