import { join } from 'node:path';
import { createDatabase, runMigrations, type Database } from '@chat/db';
import { listenThenConnect, type StartOptions } from '@chat/http-kit';
import { silentLogger } from '@chat/logger';
import { Broker } from '@chat/messaging';
import { buildApp, type AccountsApp } from './app';
import { loadOrCreateSigningKeys } from './auth/key-store';
import type { Config } from './config';
import { schema } from './repositories/schema';

export interface RunningAccounts {
  app: AccountsApp;
  broker: Broker;
  database: Database<typeof schema>;
  url: string;
  port: number;
  close: () => Promise<void>;
}

/** Starts accounts in this process: migrations, signing keys, database, broker and HTTP. main.ts's entry point. */
export async function startAccounts(config: Config, opts: StartOptions = {}): Promise<RunningAccounts> {
  const logger = opts.logger ?? silentLogger();
  await runMigrations(config.DATABASE_URL, join(__dirname, '..', 'drizzle'), 'accounts');
  const keys = await loadOrCreateSigningKeys(config.KEYS_DIR);
  const database = createDatabase(config.DATABASE_URL, schema, logger);
  const broker = new Broker({ url: config.AMQP_URL, logger, registry: opts.registry });
  const app = await buildApp({
    config,
    logger,
    database,
    broker,
    keys,
    registry: opts.registry,
    defaultMetrics: opts.defaultMetrics,
  });
  // Until the broker is reachable, the outbox holds the events.
  const { url, port } = await listenThenConnect(app, broker, config, { logger, awaitBroker: opts.awaitBroker });
  return {
    app,
    broker,
    database,
    url,
    port,
    close: async () => {
      await app.close();
      await broker.close();
      await database.close();
    },
  };
}
