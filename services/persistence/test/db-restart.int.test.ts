import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDatabase, runMigrations, type Database } from '@chat/db';
import { freePort, startPostgres, type LocalPostgres } from '@chat/local-infra';
import { silentLogger } from '@chat/logger';
import { Broker, QUEUES, deadLetterQueue } from '@chat/messaging';
import { createTestVhost, queueDepth, waitFor, type TestVhost } from '@chat/testkit';
import { readConfig } from '../src/config';
import { createRepositories } from '../src/server';
import { schema, type Schema } from '../src/repositories/schema';
import { createAccountsClient } from '../src/clients/accounts.client';
import { messageId, textMessage } from './harness';
import { createEventsConsumer } from '../src/consumers/events.consumer';

/** A private Postgres this file stops and starts again under a running consumer. */
describe('the consumer across a database restart', () => {
  const dir = mkdtempSync(join(tmpdir(), 'persistence-pg-'));
  let port: number;
  let pg: LocalPostgres;
  let vhost: TestVhost;
  let database: Database<Schema>;
  const brokers: Broker[] = [];

  beforeAll(async () => {
    port = await freePort();
    [pg, vhost] = await Promise.all([
      startPostgres({ dataDir: join(dir, 'data'), port, fast: true }),
      createTestVhost(),
    ]);
    await runMigrations(pg.url('postgres'), join(__dirname, '..', 'drizzle'), 'persistence');
  }, 60_000);
  afterAll(async () => {
    await Promise.allSettled(brokers.map((b) => b.close()));
    await database?.close().catch(() => undefined);
    await pg?.stop();
    await vhost?.drop();
    rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it('retries the batch while the database is down (nothing dead-lettered) and stores it when it is back', async () => {
    const logger = silentLogger();
    const config = readConfig({ DATABASE_URL: pg.url('postgres'), AMQP_URL: vhost.url });
    database = createDatabase(config.DATABASE_URL, schema, logger);
    const repositories = createRepositories({
      config,
      logger,
      database,
      accounts: createAccountsClient('http://127.0.0.1:9'),
    });
    const consumer = new Broker({ url: vhost.url, logger });
    const publisher = new Broker({ url: vhost.url, logger });
    brokers.push(consumer, publisher);
    await consumer.consume({ ...createEventsConsumer({ ...repositories, config }), retryDelayMs: 200 });
    await Promise.all([consumer.connect(), publisher.connect()]);
    const rows = async () =>
      Number((await database.pool.query('select count(*) from persistence.messages')).rows[0].count);

    const c = randomUUID();
    const sender = randomUUID();
    const before = Array.from({ length: 20 }, (_, i) => textMessage(c, sender, { id: messageId(i) }));
    for (const m of before) await publisher.publish('message.created', m);
    await waitFor(async () => (await rows()) === 20, 10_000, 'the first 20');

    await pg.stop();
    const during = Array.from({ length: 30 }, (_, i) => textMessage(c, sender, { id: messageId(100 + i) }));
    for (const m of during) await publisher.publish('message.created', m);
    await waitFor(
      async () => (await consumer.metrics.retried.get()).values.reduce((n, v) => n + v.value, 0) > 0,
      15_000,
      'a transient retry',
    );

    pg = await startPostgres({ dataDir: join(dir, 'data'), port, fast: true });
    await waitFor(async () => (await rows()) === 50, 30_000, 'all 50 stored');
    expect((await queueDepth(vhost, deadLetterQueue(QUEUES.persistence.name))).ready).toBe(0);
    const seqs = (await database.pool.query('select seq from persistence.messages order by id')).rows.map((r) =>
      Number(r.seq),
    );
    expect(new Set(seqs).size).toBe(50);
  }, 90_000);
});
