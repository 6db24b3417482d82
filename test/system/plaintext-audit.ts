import amqp from 'amqplib';
import { Client } from 'pg';
import { authHeader } from '@chat/local-infra';
import type { TestVhost } from '@chat/testkit';

/**
 * Every message published on a vhost, whatever its exchange, through RabbitMQ's firehose tracer
 * (tracing on for the vhost, a queue bound to `amq.rabbitmq.trace`): what the broker carried.
 */
export async function tapBroker(vhost: TestVhost): Promise<{ bodies: () => string[]; stop: () => Promise<void> }> {
  const mgmt = `${vhost.managementUrl}/api/vhosts/${encodeURIComponent(vhost.vhost)}`;
  const res = await fetch(mgmt, {
    method: 'PUT',
    headers: { ...authHeader, 'content-type': 'application/json' },
    body: JSON.stringify({ tracing: true }),
  });
  if (!res.ok) throw new Error(`enabling the firehose: ${res.status} ${await res.text()}`);
  const conn = await amqp.connect(vhost.url);
  const ch = await conn.createChannel();
  const q = await ch.assertQueue('', { exclusive: true, autoDelete: true });
  await ch.bindQueue(q.queue, 'amq.rabbitmq.trace', 'publish.#');
  const seen: string[] = [];
  await ch.consume(q.queue, (m) => m && seen.push(m.content.toString('utf8')), { noAck: true });
  return {
    bodies: () => [...seen],
    stop: async () => {
      await conn.close().catch(() => undefined);
    },
  };
}

/** Every row of every table of the application's schemas, as text: a dump of what the database holds. */
export async function dumpDatabase(url: string): Promise<string> {
  const c = new Client({ connectionString: url });
  await c.connect();
  try {
    const tables = await c.query<{ s: string; t: string }>(
      `select table_schema as s, table_name as t from information_schema.tables
        where table_type = 'BASE TABLE' and table_schema not in ('pg_catalog', 'information_schema')`,
    );
    const out: string[] = [];
    for (const { s, t } of tables.rows) {
      const rows = await c.query(`select x::text as row from "${s}"."${t}" x`);
      out.push(`-- ${s}.${t}`, ...rows.rows.map((r: { row: string }) => r.row));
    }
    return out.join('\n');
  } finally {
    await c.end();
  }
}
