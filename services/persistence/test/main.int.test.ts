import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { Client } from 'pg';
import { freePort } from '@chat/local-infra';
import { silentLogger } from '@chat/logger';
import { Broker, QUEUES } from '@chat/messaging';
import {
  createTestDatabase,
  createTestVhost,
  queueDepth,
  waitFor,
  type TestDatabase,
  type TestVhost,
} from '@chat/testkit';
import { messageId, textMessage } from './harness';

const root = join(__dirname, '..', '..', '..');

/** The real entry point as its own process: readiness, consuming, and the graceful SIGTERM path. */
describe('persistence main.ts', () => {
  let db: TestDatabase;
  let vhost: TestVhost;
  let publisher: Broker;

  beforeAll(async () => {
    [db, vhost] = await Promise.all([createTestDatabase(), createTestVhost()]);
    publisher = new Broker({ url: vhost.url, logger: silentLogger() });
    await publisher.connect();
  });
  afterAll(async () => {
    await publisher.close();
    await Promise.all([db.drop(), vhost.drop()]);
  });

  it('becomes ready, and on SIGTERM finishes and acks its in-flight batch: every event is either stored or still queued, never both', async () => {
    const total = 3000;
    const c = randomUUID();
    const sender = randomUUID();
    const msgs = Array.from({ length: total }, (_, i) => textMessage(c, sender, { id: messageId(i) }));
    for (let i = 0; i < total; i += 100)
      await Promise.all(msgs.slice(i, i + 100).map((m) => publisher.publish('message.created', m)));

    const port = await freePort();
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', join(root, 'services', 'persistence', 'src', 'main.ts')],
      {
        cwd: root,
        env: {
          PATH: process.env.PATH ?? '',
          NODE_ENV: 'test',
          LOG_LEVEL: 'warn',
          PORT: String(port),
          DATABASE_URL: db.url,
          AMQP_URL: vhost.url,
          PERSISTENCE_BATCH: '100',
          PERSISTENCE_PREFETCH: '200',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | string>((resolve) =>
      child.on('exit', (code, signal) => resolve(code ?? signal ?? -1)),
    );

    const pg = new Client({ connectionString: db.url });
    await pg.connect();
    const rows = async () => Number((await pg.query('select count(*) from persistence.messages')).rows[0].count);
    try {
      await waitFor(
        async () => (await fetch(`http://127.0.0.1:${port}/readyz`)).status === 200,
        30_000,
        `ready (${stderr})`,
        100,
      );
      await waitFor(async () => (await rows()) > 0, 10_000, 'the first batch');
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      const stored = await rows();
      // A quorum queue's message count is updated asynchronously after the acks the process sent before
      // it exited: read it until it settles (a message both stored and still queued would never settle).
      let queued = -1;
      await waitFor(
        async () => (queued = (await queueDepth(vhost, QUEUES.persistence.name)).ready) + stored === total,
        10_000,
        'the queue count to settle',
        250,
      ).catch(() => undefined);
      expect(stored + queued).toBe(total);
      expect(stderr).not.toMatch(/error|fatal/i);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      await pg.end();
    }
  }, 60_000);
});
