import { randomUUID } from 'node:crypto';
import type { Registry } from 'prom-client';
import { keepLoadingRevokedSessions, RevokedSessions, withRevocations, type Verifier } from '@chat/auth';
import type { Logger } from '@chat/logger';
import { revokedSessionsConsumer, type Broker } from '@chat/messaging';
import { createService, internalHeaders, type App } from '@chat/http-kit';
import type { Config } from './config';
import { createEventsConsumer, deadLetterTo } from './consumers/events.consumer';
import { historyRoutes } from './routes/history.routes';
import { internalRoutes } from './routes/internal.routes';
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
    internalToken: deps.config.INTERNAL_TOKEN,
    description: 'Message history and read state, written from the broker in batches',
    logger: deps.logger,
    registry: deps.registry,
    defaultMetrics: deps.defaultMetrics,
    readiness: { database: () => deps.database.ping(), broker: () => deps.broker.isReady },
    isTransient: isTransientDbError,
  });
  // A revoked session's access tokens are refused (401) here too: `session.revoked` on a queue of this
  // instance's own, and at start-up the sessions accounts revoked within an access token's lifetime.
  const revoked = new RevokedSessions();
  await deps.broker.consume(
    revokedSessionsConsumer('persistence', randomUUID(), (e) =>
      revoked.add(e.sessionId, e.until ? Date.parse(e.until) : undefined),
    ),
  );
  let stopLoading = () => {};
  app.addHook('onReady', async () => {
    stopLoading = keepLoadingRevokedSessions(revoked, {
      accountsUrl: deps.config.ACCOUNTS_URL,
      headers: internalHeaders,
      onError: (err) => deps.logger.warn({ err: (err as Error).message }, 'cannot load the revoked sessions yet'),
    });
  });
  app.addHook('onClose', async () => stopLoading());
  await app.register(historyRoutes({ ...deps, verifier: withRevocations(deps.verifier, revoked) }));
  await app.register(summariesRoutes(deps));
  await app.register(internalRoutes(deps));
  await deps.broker.consume(createEventsConsumer({ ...deps, deadLetter: deadLetterTo(deps.broker) }));
  return app;
}
