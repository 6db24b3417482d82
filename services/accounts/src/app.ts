import { randomUUID } from 'node:crypto';
import type { Registry } from 'prom-client';
import { createVerifier, localKeys, RevokedSessions, withRevocations } from '@chat/auth';
import { isTransientDbError, type Database } from '@chat/db';
import { createService, type App } from '@chat/http-kit';
import type { Logger } from '@chat/logger';
import { revokedSessionsConsumer, type Broker } from '@chat/messaging';
import type { Config } from './config';
import type { Deps } from './deps';
import type { schema } from './repositories/schema';
import type { SigningKeys } from './auth/key-store';
import { createPasswordChecker } from './auth/passwords';
import { createLimits } from './limits/limits';
import { createSummariesClient } from './clients/summaries.client';
import { createOutboxRelay, type OutboxRelay } from './outbox/relay';
import { createPresenceService, type PresenceService } from './presence/presence.service';
import { authRoutes } from './routes/auth.routes';
import { botsRoutes, tokenIntrospectionRoute } from './routes/bots.routes';
import { resolveApiToken } from './domain/bots.service';
import { conversationsRoutes } from './routes/conversations.routes';
import { e2eRoutes } from './routes/e2e.routes';
import { friendsRoutes } from './routes/friends.routes';
import { internalRoutes, revokedSessions } from './routes/internal.routes';
import { invitationsRoutes } from './routes/invitations.routes';
import { keysRoutes } from './routes/keys.routes';
import { usersRoutes } from './routes/users.routes';

/** What server.ts hands buildApp; buildApp builds the routes' `Deps` (src/deps.ts) from it. */
export interface AppDeps {
  config: Config;
  logger: Logger;
  database: Database<typeof schema>;
  broker: Broker;
  keys: SigningKeys;
  registry?: Registry;
  defaultMetrics?: boolean;
}

export type AccountsApp = App & { outbox: OutboxRelay; presence: PresenceService };

/**
 * The accounts HTTP API. It never listens (server.ts does). The outbox relay starts when the app is
 * ready and stops when it closes, so a test's `app.close()` leaves nothing running.
 */
export async function buildApp(deps: AppDeps): Promise<AccountsApp> {
  const { config, logger, database, broker, keys } = deps;
  const app = (await createService({
    name: 'accounts',
    internalToken: config.INTERNAL_TOKEN,
    description: 'Users, credentials, sessions, friendships, blocks, conversations and device keys',
    logger,
    registry: deps.registry,
    defaultMetrics: deps.defaultMetrics,
    readiness: { database: () => database.ping(), broker: () => broker.isReady },
    isTransient: isTransientDbError,
    fastify: { trustProxy: config.TRUST_PROXY },
  })) as AccountsApp;

  const relay = createOutboxRelay({
    db: database.db,
    broker,
    logger,
    pollMs: config.OUTBOX_POLL_MS,
    batch: config.OUTBOX_BATCH,
  });
  app.decorate('outbox', relay);
  app.decorateRequest('auth', null);
  app.addHook('onReady', async () => relay.start());
  app.addHook('onClose', async () => relay.stop());

  // Presence: the gateways' reports in, transitions out through the outbox (src/presence).
  const presence = createPresenceService({
    db: database.db,
    broker,
    logger,
    kickOutbox: () => relay.kick(),
    sessionTtlMs: config.PRESENCE_SESSION_TTL_MS,
    heartbeatTtlFactor: 2.5,
    graceMs: config.PRESENCE_GRACE_MS,
    sweepMs: config.PRESENCE_SWEEP_MS,
    prefetch: config.PRESENCE_BATCH * 2,
    batchSize: config.PRESENCE_BATCH,
  });
  app.decorate('presence', presence);
  await presence.consume();
  app.addHook('onReady', async () => presence.startSweeper());
  app.addHook('onClose', async () => presence.stop());

  const ctx: Deps = {
    db: database.db,
    config,
    logger,
    keys,
    passwords: await createPasswordChecker(app.registry),
    limits: createLimits(database.pool, config),
    summaries: createSummariesClient({
      baseUrl: config.PERSISTENCE_URL,
      timeoutMs: config.PERSISTENCE_TIMEOUT_MS,
      logger,
    }),
    kickOutbox: () => relay.kick(),
    revoked: new RevokedSessions(),
  };
  // API tokens (bots) are looked up here directly; other services ask /internal/v1/tokens/introspect.
  // A revoked session's access tokens are refused: sessions ended on any instance reach this one as
  // `session.revoked` on a queue of its own; those ended before it started are loaded from the database.
  const verify = withRevocations(
    createVerifier(localKeys(keys.jwks), (token) => resolveApiToken(ctx, token)),
    ctx.revoked,
  );
  await broker.consume(
    revokedSessionsConsumer('accounts', randomUUID(), (e) =>
      ctx.revoked.add(e.sessionId, e.until ? Date.parse(e.until) : undefined),
    ),
  );
  let loadTimer: NodeJS.Timeout | undefined;
  const loadRevoked = async (delayMs: number): Promise<void> => {
    try {
      for (const s of await revokedSessions(ctx)) ctx.revoked.add(s.sessionId, Date.parse(s.until));
    } catch (err) {
      logger.warn({ err: (err as Error).message }, 'cannot load the revoked sessions yet; retrying');
      loadTimer = setTimeout(() => void loadRevoked(Math.min(delayMs * 2, 30_000)), delayMs);
      loadTimer.unref();
    }
  };
  app.addHook('onReady', async () => loadRevoked(1_000));
  app.addHook('onClose', async () => clearTimeout(loadTimer));

  // A database that is down answers 503 UNAVAILABLE through http-kit's one error handler (isTransient).
  await app.register(authRoutes(ctx));
  await app.register(usersRoutes(ctx, verify));
  await app.register(friendsRoutes(ctx, verify));
  await app.register(conversationsRoutes(ctx, verify));
  await app.register(keysRoutes(ctx, verify));
  await app.register(botsRoutes(ctx, verify));
  await app.register(e2eRoutes(ctx, verify));
  await app.register(invitationsRoutes(ctx, verify));
  await app.register(internalRoutes(ctx));
  await app.register(tokenIntrospectionRoute(ctx));
  return app;
}
