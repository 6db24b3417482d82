import type { Registry } from 'prom-client';
import type { Verifier } from '@chat/auth';
import type { Logger } from '@chat/logger';
import type { Broker } from '@chat/messaging';
import { createService, type App } from '@chat/http-kit';
import type { Config } from './config';
import type { Core } from './core';
import { historyRoutes } from './routes/history.routes';
import { summariesRoutes } from './routes/summaries.routes';
import { isTransientDbError } from '@chat/db';

export interface Deps {
  config: Config;
  logger: Logger;
  core: Core;
  broker: Broker;
  /** Verifies access tokens (accounts' JWKS in production, a test issuer in tests). */
  verifier: Verifier;
  registry?: Registry;
  defaultMetrics?: boolean;
}

/** The persistence HTTP API (history pages, internal summaries, operations). It never listens; main.ts does. */
export async function buildApp(deps: Deps): Promise<App> {
  const app = await createService({
    name: 'persistence',
    internalToken: deps.config.INTERNAL_TOKEN,
    description: 'Message history and read state, written from the broker in batches',
    logger: deps.logger,
    registry: deps.registry,
    defaultMetrics: deps.defaultMetrics,
    readiness: { database: () => deps.core.database.ping(), broker: () => deps.broker.isConnected },
    isTransient: isTransientDbError,
  });
  await app.register(historyRoutes({ core: deps.core, verifier: deps.verifier }));
  await app.register(summariesRoutes({ core: deps.core }));
  return app;
}
