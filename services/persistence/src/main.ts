import { join } from 'node:path';
import { Registry } from 'prom-client';
import { createVerifier, remoteApiTokens, remoteKeys } from '@chat/auth';
import { createDatabase, runMigrations } from '@chat/db';
import { Broker } from '@chat/messaging';
import { bootService, installShutdown } from '@chat/http-kit';
import { readConfig } from './config';
import { buildApp } from './app';
import { createCore } from './core';
import { createEventsConsumer, deadLetterTo } from './consumers/events.consumer';
import { schema } from './db/schema';

async function main(): Promise<void> {
  const { config, logger } = bootService('persistence', readConfig);
  if (config.MIGRATE) await runMigrations(config.DATABASE_URL, join(__dirname, '..', 'drizzle'), 'persistence');
  const registry = new Registry();
  const database = createDatabase(config.DATABASE_URL, schema, logger);
  const core = createCore({ config, logger, database, registry });
  const broker = new Broker({ url: config.AMQP_URL, logger, registry });
  const verifier = createVerifier(remoteKeys(config.JWKS_URL), remoteApiTokens({ accountsUrl: config.ACCOUNTS_URL, cacheMs: config.API_TOKEN_CACHE_MS }));
  const app = await buildApp({ config, logger, core, broker, verifier, registry, defaultMetrics: true });
  await app.listen({ port: config.PORT, host: config.HOST });
  // Registered before connecting: the broker client starts it on every (re)connect.
  await broker.consume(createEventsConsumer({ core, config, deadLetter: deadLetterTo(broker) }));
  void broker.connect().catch((err) => logger.error({ err }, 'broker gave up'));
  installShutdown(logger, [
    // Cancels the consumer, lets the in-flight batch commit and be acked, then closes the connection.
    ['stop consuming and finish the in-flight batch', () => broker.close()],
    ['close http', () => app.close()],
    ['close database', () => database.close()],
  ], config.SHUTDOWN_TIMEOUT_MS);
}

void main();
