import { join } from 'node:path';
import type { Registry } from 'prom-client';
import { createDatabase, runMigrations, type Database } from '@chat/db';
import { silentLogger, type Logger } from '@chat/logger';
import { Broker } from '@chat/messaging';
import { buildApp, type AccountsApp } from './app';
import { loadOrCreateSigningKeys } from './auth/key-store';
import type { Config } from './config';
import { schema } from './repositories/schema';

export interface StartOptions {
  logger?: Logger;
  registry?: Registry;
  defaultMetrics?: boolean;
  /** Resolve only once the broker is connected (tests); main.ts listens first and connects after. */
  awaitBroker?: boolean;
}

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
  const app = await buildApp({ config, logger, database, broker, keys, registry: opts.registry, defaultMetrics: opts.defaultMetrics });
  const url = await app.listen({ port: config.PORT, host: config.HOST });
  // Connect after listening: /readyz says 503 until the broker is reachable; the outbox holds events meanwhile.
  const connecting = broker.connect();
  if (opts.awaitBroker ?? true) await connecting;
  else connecting.catch((err) => logger.error({ err }, 'broker gave up'));
  return {
    app,
    broker,
    database,
    url,
    port: (app.server.address() as { port: number }).port,
    close: async () => {
      await app.close();
      await broker.close();
      await database.close();
    },
  };
}
