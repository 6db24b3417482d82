import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import amqp from 'amqplib';
import { createVhost, deleteVhost } from '@chat/local-infra';
import type { InfraEnv } from './infra';

function infraEnv(): InfraEnv {
  const e = process.env as Partial<InfraEnv>;
  if (!e.CHAT_TEST_PG_ADMIN_URL || !e.CHAT_TEST_AMQP_BASE || !e.CHAT_TEST_RMQ_MGMT || !e.CHAT_TEST_PG_TEMPLATE) {
    throw new Error(
      'test infrastructure is not up: run the tests through jest (its global set-up starts Postgres and RabbitMQ)',
    );
  }
  return e as InfraEnv;
}

const suffix = () => randomBytes(5).toString('hex');

export interface TestDatabase {
  url: string;
  name: string;
  drop: () => Promise<void>;
}

/** A database of this test file's own, cloned from the migrated template (fast: a file copy). */
export async function createTestDatabase(): Promise<TestDatabase> {
  const env = infraEnv();
  const name = `t_${suffix()}`;
  const admin = new Client({ connectionString: env.CHAT_TEST_PG_ADMIN_URL });
  await admin.connect();
  // Cloning needs the template to have no other connection; retry briefly if another file clones now.
  for (let i = 0; ; i++) {
    try {
      await admin.query(`create database ${name} template ${env.CHAT_TEST_PG_TEMPLATE}`);
      break;
    } catch (err) {
      if (i > 50 || !/being accessed by other users/.test((err as Error).message)) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  await admin.end();
  const url = env.CHAT_TEST_PG_ADMIN_URL.replace(/\/[^/?]*(\?|$)/, `/${name}$1`);
  return {
    url,
    name,
    drop: async () => {
      const c = new Client({ connectionString: env.CHAT_TEST_PG_ADMIN_URL });
      await c.connect();
      await c.query(`drop database if exists ${name} with (force)`);
      await c.end();
    },
  };
}

export interface TestVhost {
  url: string;
  vhost: string;
  managementUrl: string;
  drop: () => Promise<void>;
}

/** A RabbitMQ vhost of this test file's own: its exchanges and queues are invisible to other files. */
export async function createTestVhost(): Promise<TestVhost> {
  const env = infraEnv();
  const vhost = `t_${suffix()}`;
  const port = Number(new URL(env.CHAT_TEST_RMQ_MGMT).port);
  await createVhost(port, vhost);
  return {
    url: `${env.CHAT_TEST_AMQP_BASE}/${vhost}`,
    vhost,
    managementUrl: env.CHAT_TEST_RMQ_MGMT,
    drop: () => deleteVhost(port, vhost),
  };
}

/** A queue's count of ready messages, read over AMQP (the management API's figures lag by seconds). */
export async function queueDepth(vhost: TestVhost, queue: string): Promise<{ ready: number; consumers: number }> {
  const conn = await amqp.connect(vhost.url);
  try {
    const ch = await conn.createChannel();
    const q = await ch.checkQueue(queue);
    return { ready: q.messageCount, consumers: q.consumerCount };
  } finally {
    await conn.close().catch(() => undefined);
  }
}
