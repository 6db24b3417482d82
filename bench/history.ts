import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Registry } from 'prom-client';
import { createTestIssuer } from '@chat/auth';
import { createDatabase, runMigrations } from '@chat/db';
import { freePort, startPostgres, type LocalPostgres } from '@chat/local-infra';
import { silentLogger } from '@chat/logger';
import { Broker } from '@chat/messaging';
import { buildApp } from '../services/persistence/src/app';
import { readConfig } from '../services/persistence/src/config';
import { createRepositories } from '../services/persistence/src/server';
import { schema } from '../services/persistence/src/repositories/schema';

/**
 * History page latency on a big table: `npx tsx bench/history.ts --n 5000000 [--conversations 1000]
 * [--requests 2000] [--database-url postgres://...]`. Fills N messages with generate_series (in a
 * private throwaway Postgres unless a URL is given: its persistence tables are TRUNCATED), then asks
 * the real persistence app over HTTP for 50-message pages of one conversation of N/conversations
 * messages: newest, `before=` at random depths and `after=` at random depths. Prints p50/p99 per kind.
 */
async function main() {
  const { values } = parseArgs({
    options: {
      n: { type: 'string', default: '5000000' },
      conversations: { type: 'string', default: '1000' },
      requests: { type: 'string', default: '2000' },
      'database-url': { type: 'string' },
    },
  });
  const n = Number(values.n);
  const convs = Number(values.conversations);
  const requests = Number(values.requests);
  const log = (o: object) => process.stdout.write(`${JSON.stringify(o)}\n`);

  let pg: LocalPostgres | undefined;
  const dir = mkdtempSync(join(tmpdir(), 'bench-history-'));
  let url = values['database-url'];
  if (!url) {
    pg = await startPostgres({ dataDir: join(dir, 'pg'), port: await freePort(), fast: true });
    url = pg.url('postgres');
  }
  const logger = silentLogger();
  const database = createDatabase(url, schema, logger);
  let app: Awaited<ReturnType<typeof buildApp>> | undefined;
  try {
    await runMigrations(url, join(__dirname, '..', 'services', 'persistence', 'drizzle'), 'persistence');
    const q = (text: string, params: unknown[] = []) => database.pool.query(text, params);
    await q(
      'truncate persistence.messages, persistence.conversation_seqs, persistence.members, persistence.member_sets, persistence.read_markers',
    );
    const conversationIds = Array.from({ length: convs }, () => randomUUID());
    const reader = randomUUID();

    // Ids: '01J' + the row number on 23 digits: valid ULID characters, string order = row order.
    const t0 = Date.now();
    await q(
      `insert into persistence.messages (id, conversation_id, seq, sender_id, client_msg_id, kind, body, created_at)
       select '01J' || lpad(i::text, 23, '0'), ($1::uuid[])[1 + i % $2], i / $2 + 1, $3::uuid, gen_random_uuid(), 'text',
              'message number ' || i, now() - make_interval(secs => ($4 - i) / 100.0)
         from generate_series(0, $4 - 1) as i`,
      [conversationIds, convs, randomUUID(), n],
    );
    const fillSeconds = (Date.now() - t0) / 1000;
    await q('analyze persistence.messages');
    const target = conversationIds[0]!;
    await q('insert into persistence.member_sets values ($1, now())', [target]);
    await q('insert into persistence.members values ($1, $2)', [target, reader]);
    const perConversation = Math.ceil(n / convs);
    log({ filled: n, conversations: convs, perConversation, fillSeconds });

    const issuer = await createTestIssuer();
    const config = readConfig({ DATABASE_URL: url, MEMBER_CACHE_MS: '5000', LOG_LEVEL: 'silent' });
    const repositories = createRepositories({ config, logger, database, registry: new Registry() });
    app = await buildApp({
      ...repositories,
      config,
      logger,
      broker: new Broker({ url: config.AMQP_URL, logger }),
      verifier: issuer.verifier,
    });
    const port = await freePort();
    await app.listen({ port, host: '127.0.0.1' });
    const auth = { authorization: `Bearer ${await issuer.sign(reader)}` };
    // Ids of the target conversation are the row numbers i with i % convs == 0.
    const idAt = (k: number) => `01J${String(k * convs).padStart(23, '0')}`;

    const measure = async (kind: string, query: () => string) => {
      const times: number[] = [];
      for (let i = 0; i < requests; i++) {
        const t = process.hrtime.bigint();
        const res = await fetch(`http://127.0.0.1:${port}/api/v1/conversations/${target}/messages?${query()}`, {
          headers: auth,
        });
        const body = (await res.json()) as { messages: unknown[] };
        if (res.status !== 200 || body.messages.length === 0)
          throw new Error(`${kind}: ${res.status} ${JSON.stringify(body).slice(0, 200)}`);
        times.push(Number(process.hrtime.bigint() - t) / 1e6);
      }
      times.sort((a, b) => a - b);
      const pct = (p: number) => Number(times[Math.min(times.length - 1, Math.floor(times.length * p))]!.toFixed(2));
      log({ kind, requests, p50ms: pct(0.5), p99ms: pct(0.99), maxMs: pct(1) });
    };
    const depth = () => 60 + Math.floor(Math.random() * (perConversation - 120));
    await measure('newest', () => 'limit=50');
    await measure('before', () => `before=${idAt(depth())}&limit=50`);
    await measure('after', () => `after=${idAt(depth())}&limit=50`);
  } finally {
    await app?.close();
    await database.close();
    await pg?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  process.stderr.write(`bench failed: ${(err as Error).stack}\n`);
  process.exit(1);
});
