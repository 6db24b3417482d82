import type { Registry } from 'prom-client';
import type { Verifier } from '@chat/auth';
import type { Logger } from '@chat/logger';
import type { Broker } from '@chat/messaging';
import { createService, type App } from '@chat/http-kit';
import type { Config } from './config';
import { createEventsConsumer, deadLetterTo } from './consumers/events.consumer';
import { historyRoutes } from './routes/history.routes';
import { summariesRoutes } from './routes/summaries.routes';
import type { Repositories } from './server';
import { isTransientDbError } from '@chat/db';

/** What the routes and the consumer share; server.ts builds it. */
export interface Deps extends Repositories {
  config: Config;
  logger: Logger;
  broker: Broker;
  /** Verifies access tokens (accounts' JWKS in production, a test issuer in tests). */
  verifier: Verifier;
  registry?: Registry;
  defaultMetrics?: boolean;
}

/**
 * The persistence HTTP API (history pages, internal summaries, operations) and its consumer of
 * `persistence.events`, registered on the broker. It never listens or connects; server.ts does.
 */
export async function buildApp(deps: Deps): Promise<App> {
  const app = await createService({
    name: 'persistence',
    description: 'Message history and read state, written from the broker in batches',
    logger: deps.logger,
    registry: deps.registry,
    defaultMetrics: deps.defaultMetrics,
    readiness: { database: () => deps.database.ping(), broker: () => deps.broker.isConnected },
    isTransient: isTransientDbError,
  });
  await app.register(historyRoutes(deps));
  await app.register(summariesRoutes(deps));
  await deps.broker.consume(createEventsConsumer({ ...deps, deadLetter: deadLetterTo(deps.broker) }));
  return app;
}
