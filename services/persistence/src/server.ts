import { join } from 'node:path';
import { Counter, Registry } from 'prom-client';
import { accountsVerifier, type Verifier } from '@chat/auth';
import { createDatabase, runMigrations, type Database } from '@chat/db';
import { internalHeaders, listenThenConnect, type App, type StartOptions as BaseStartOptions } from '@chat/http-kit';
import { silentLogger, type Logger } from '@chat/logger';
import { Broker } from '@chat/messaging';
import { buildApp } from './app';
import { createAccountsClient, type AccountsClient } from './clients/accounts.client';
import type { Config } from './config';
import { createMembersRepository } from './repositories/members.repository';
import { createMessagesRepository } from './repositories/messages.repository';
import { createReadMarkersRepository } from './repositories/read-markers.repository';
import { schema, type Schema } from './repositories/schema';
import { createSummariesRepository } from './repositories/summaries.repository';
import { createMembership } from './domain/membership';

export interface RepositoryOptions {
  config: Pick<Config, 'ACCOUNTS_URL' | 'MEMBER_CACHE_MS'>;
  logger: Logger;
  database: Database<Schema>;
  /** Defaults to HTTP calls to ACCOUNTS_URL. */
  accounts?: AccountsClient;
  registry?: Registry;
}

/** The part of `Deps` the HTTP routes and the consumer share: repositories, the membership cache, metrics. */
export function createRepositories(deps: RepositoryOptions) {
  const db = deps.database.db;
  const registry = deps.registry ?? new Registry();
  const members = createMembersRepository(db);
  return {
    database: deps.database,
    db,
    messages: createMessagesRepository(db, deps.database.pool),
    members,
    readMarkers: createReadMarkersRepository(db),
    summaries: createSummariesRepository(deps.database.pool),
    membership: createMembership({
      db,
      members,
      accounts: deps.accounts ?? createAccountsClient(deps.config.ACCOUNTS_URL),
      cacheMs: deps.config.MEMBER_CACHE_MS,
      logger: deps.logger,
    }),
    metrics: {
      stored: new Counter({
        name: 'persistence_messages_stored_total',
        help: 'Messages inserted into history',
        registers: [registry],
      }),
      duplicates: new Counter({
        name: 'persistence_messages_duplicate_total',
        help: 'message.created events already in history (resends, redeliveries)',
        registers: [registry],
      }),
    },
  };
}
export type Repositories = ReturnType<typeof createRepositories>;

export interface StartOptions extends BaseStartOptions {
  /** Defaults to a verifier against `JWKS_URL`. */
  verifier?: Verifier;
}

export interface RunningPersistence {
  app: App;
  broker: Broker;
  database: Database<Schema>;
  url: string;
  port: number;
  /** Stops consuming (the in-flight batch commits and is acked), then closes HTTP and the database. */
  close: () => Promise<void>;
}

/** Starts persistence in this process: migrations, database, broker, consumer and HTTP. main.ts's entry point. */
export async function startPersistence(config: Config, opts: StartOptions = {}): Promise<RunningPersistence> {
  const logger = opts.logger ?? silentLogger();
  if (config.MIGRATE) await runMigrations(config.DATABASE_URL, join(__dirname, '..', 'drizzle'), 'persistence');
  const database = createDatabase(config.DATABASE_URL, schema, logger);
  const repositories = createRepositories({ config, logger, database, registry: opts.registry });
  const broker = new Broker({ url: config.AMQP_URL, logger, registry: opts.registry });
  const verifier =
    opts.verifier ??
    accountsVerifier({
      jwksUrl: config.JWKS_URL,
      accountsUrl: config.ACCOUNTS_URL,
      cacheMs: config.API_TOKEN_CACHE_MS,
      headers: internalHeaders,
    });
  // Registers the consumer before connecting: the broker client starts it on every (re)connect.
  const app = await buildApp({
    ...repositories,
    config,
    logger,
    broker,
    verifier,
    registry: opts.registry,
    defaultMetrics: opts.defaultMetrics,
  });
  const { url, port } = await listenThenConnect(app, broker, config, { logger, awaitBroker: opts.awaitBroker });
  return {
    app,
    broker,
    database,
    url,
    port,
    close: async () => {
      await broker.close();
      await app.close();
      await database.close();
    },
  };
}
