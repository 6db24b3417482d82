import { join } from 'node:path';
import { Registry } from 'prom-client';
import { createDatabase, runMigrations } from '@chat/db';
import { Broker } from '@chat/messaging';
import { bootService, installShutdown } from '@chat/http-kit';
import { readConfig } from './config';
import { schema } from './db/schema';
import { loadOrCreateSigningKeys } from './auth/key-store';
import { buildApp } from './app';

async function main(): Promise<void> {
  const { config, logger } = bootService('accounts', readConfig);
  await runMigrations(config.DATABASE_URL, join(__dirname, '..', 'drizzle'), 'accounts');
  const keys = await loadOrCreateSigningKeys(config.KEYS_DIR);
  const registry = new Registry();
  const database = createDatabase(config.DATABASE_URL, schema, logger);
  const broker = new Broker({ url: config.AMQP_URL, logger, registry });
  const app = await buildApp({ config, logger, database, broker, keys, registry, defaultMetrics: true });
  await app.listen({ port: config.PORT, host: config.HOST });
  // Connect after listening: /readyz says 503 until the broker is reachable; the outbox holds events meanwhile.
  void broker.connect().catch((err) => logger.error({ err }, 'broker gave up'));
  installShutdown(logger, [
    ['stop http and the outbox relay', () => app.close()],
    ['close broker', () => broker.close()],
    ['close database', () => database.close()],
  ], config.SHUTDOWN_TIMEOUT_MS);
}

void main();
