import type { Registry } from 'prom-client';
import { keepLoadingRevokedSessions, RevokedSessions, withRevocations, type Verifier } from '@chat/auth';
import type { Logger } from '@chat/logger';
import { PublishBatcher, type Broker } from '@chat/messaging';
import { createService, internalHeaders, type App } from '@chat/http-kit';
import type { Config } from './config';
import { MembershipClient } from '@chat/membership';
import { emitDelivery, startDeliveryConsumer } from './consumers/deliveries.consumer';
import { startEventsConsumer } from './consumers/events.consumer';
import { LocalSessions } from './domain/local-sessions';
import { proxyRoutes } from './routes/proxy.routes';
import { securityHeaders } from './routes/security-headers';
import { webRoutes } from './routes/web.routes';
import { asyncApiRoutes } from './routes/asyncapi.routes';
import { conversationsCachedGauge, createGatewayMetrics } from './metrics';
import { createRateLimiter } from './rate-limit';
import { RecentSends } from './domain/recent-sends';
import { createHandlers, TYPING_TTL_MS } from './socket/handlers';
import { attachSocketServer, type GatewayServer } from './socket/io';
import { SessionRegistry } from './socket/sessions';
import { PresenceReporter } from './presence/presence-reporter';
import { ReadCursors } from './typing/read-cursors';
import { TypingTracker } from './typing/typing-tracker';
import { createUlidFactory } from './domain/message-ids';
import { createClaimClient } from './domain/claim';

export interface Deps {
  config: Config;
  logger: Logger;
  /** Built with `onConnect` applying this instance's topology (see server.ts). */
  broker: Broker;
  verifier: Verifier;
  registry?: Registry;
  defaultMetrics?: boolean;
}

export interface Gateway {
  app: App;
  io: GatewayServer;
  directory: MembershipClient;
  sessions: LocalSessions;
  presence: PresenceReporter;
  typing: TypingTracker;
  socketSessions: SessionRegistry;
  /** Sends this instance accepted or learnt from the broker (a resend's answer); tests read it. */
  recentSends: RecentSends;
}

/**
 * The public edge: operator routes, `/api/v1` proxied to the owning services, the web client, and the
 * Socket.IO server on the same HTTP server. Registers its broker consumers; never listens or connects.
 */
export async function buildApp(deps: Deps): Promise<Gateway> {
  const { config, logger, broker } = deps;
  const sessions = new LocalSessions();
  const app = await createService({
    name: 'gateway',
    internalToken: config.INTERNAL_TOKEN,
    description: 'Public origin: Socket.IO, the web client, and /api/v1 forwarded to the owning services',
    logger,
    registry: deps.registry,
    defaultMetrics: deps.defaultMetrics,
    readiness: { broker: () => broker.isReady },
    // /metrics and /docs are for operators: served on the operator listener (server.ts), not here.
    operatorRoutes: false,
  });
  const metrics = createGatewayMetrics(app.registry);
  const directory = new MembershipClient({
    accountsUrl: config.ACCOUNTS_URL,
    logger,
    max: config.CONVERSATION_CACHE_SIZE,
    ttlMs: config.CONVERSATION_CACHE_TTL_MS,
    timeoutMs: config.ACCOUNTS_TIMEOUT_MS,
    onLookup: () => metrics.accountsLookups.inc(),
  });
  conversationsCachedGauge(app.registry, () => directory.size);
  const recentSends = new RecentSends(config.RECENT_SENDS);
  const recentReads = new Map<string, string>();
  const typing = new TypingTracker({
    refreshMs: config.TYPING_REFRESH_MS,
    expireMs: config.TYPING_EXPIRE_MS,
    publish: async (conversationId, userId, state) => {
      try {
        await broker.publish(
          'typing.changed',
          { conversationId, userId, typing: state },
          { expirationMs: TYPING_TTL_MS },
        );
      } catch (err) {
        logger.warn({ err: (err as Error).message, conversationId, userId }, 'typing not published');
        throw err;
      }
    },
  });
  const readCursors = new ReadCursors(config.READ_CURSORS);
  const presence = new PresenceReporter({
    broker,
    sessions,
    gatewayId: config.INSTANCE_ID,
    heartbeatMs: config.PRESENCE_HEARTBEAT_MS,
    logger,
  });
  // Registered after the reporter: the user's typing indicators are cleared when their last socket goes.
  sessions.onPresence((userId, present) => {
    if (!present) typing.userGone(userId);
  });
  // Numbered, resumable socket sessions (socket/sessions.ts). A session held for a resume keeps its
  // socket's count in LocalSessions (so delivery keeps routing the user here) until it is resumed or expires.
  const socketSessions = new SessionRegistry({
    windowMs: config.RESUME_WINDOW_MS,
    bufferMax: config.RESUME_BUFFER,
    hold: () => undefined,
    unhold: (userId) => {
      sessions.release(userId);
      metrics.users.set(sessions.userCount);
    },
  });
  // What emitting to this instance's sockets needs: the deliveries consumer and the sends accepted here.
  const emitDeps = { recentSends, recentReads, readCursors, metrics, sessions: socketSessions };
  const handlers = createHandlers({
    typing,
    readCursors,
    broker,
    directory,
    recentSends,
    recentReads,
    sendLimiter: createRateLimiter({
      name: 'send',
      ratePerSec: config.SEND_RATE_PER_SEC,
      burst: config.SEND_RATE_BURST,
    }),
    typingLimiter: createRateLimiter({
      name: 'typing',
      ratePerSec: config.TYPING_RATE_PER_SEC,
      burst: config.TYPING_RATE_BURST,
    }),
    readLimiter: createRateLimiter({
      name: 'read',
      ratePerSec: config.READ_RATE_PER_SEC,
      burst: config.READ_RATE_BURST,
    }),
    ulid: createUlidFactory(),
    // The sends of a few milliseconds go to the broker as one message with one confirm.
    messages: new PublishBatcher(broker, 'message.created', {
      windowMs: config.SEND_BATCH_WINDOW_MS,
      maxItems: config.SEND_BATCH_MAX,
      lingerMs: config.SEND_BATCH_LINGER_MS,
    }),
    claim: createClaimClient(config.PERSISTENCE_URL),
    instanceId: config.INSTANCE_ID,
    deliver: (item) => emitDelivery(emitDeps, item),
  });

  await securityHeaders(app, { webDir: config.WEB_DIR });
  await app.register(proxyRoutes, { accountsUrl: config.ACCOUNTS_URL, persistenceUrl: config.PERSISTENCE_URL });
  await app.register(asyncApiRoutes);
  await app.register(webRoutes, { webDir: config.WEB_DIR });

  let started = broker.isConnected;
  broker.once('connect', () => {
    started = true;
  });
  // A revoked session's access tokens open no new socket (nor resume one): `session.revoked` reaches
  // this instance's events queue (which also disconnects its open sockets); those revoked before it
  // started are loaded from accounts. HTTP routes are checked by the services behind the proxy.
  const revoked = new RevokedSessions();
  let stopLoading = () => {};
  app.addHook('onReady', async () => {
    stopLoading = keepLoadingRevokedSessions(revoked, {
      accountsUrl: config.ACCOUNTS_URL,
      headers: internalHeaders,
      onError: (err) => logger.warn({ err: (err as Error).message }, 'cannot load the revoked sessions yet'),
    });
  });
  app.addHook('onClose', async () => stopLoading());
  const io = attachSocketServer(app.server, {
    verifier: withRevocations(deps.verifier, revoked),
    sessions,
    socketSessions,
    handlers,
    logger,
    metrics,
    tokenRecheckMs: config.API_TOKEN_RECHECK_MS,
    started: () => started || broker.isConnected,
  });
  // Stop taking sockets before the HTTP server closes.
  app.addHook('preClose', async () => {
    io.local.disconnectSockets(true);
    io.engine.close();
    socketSessions.clear();
    // The offline reports of the sockets just closed go out before the broker connection does.
    await presence.stop();
    typing.close();
  });
  app.addHook('onReady', async () => presence.start());

  await startDeliveryConsumer({
    broker,
    io,
    instanceId: config.INSTANCE_ID,
    ...emitDeps,
    prefetch: config.DELIVERY_PREFETCH,
    batchSize: config.DELIVERY_BATCH,
  });
  await startEventsConsumer({
    broker,
    instanceId: config.INSTANCE_ID,
    directory,
    presence,
    recentSends,
    io,
    revoked,
  });
  // This instance's queues die with its broker connection: what delivery routed here while they were
  // gone is lost, so on every reconnect (after the queues and consumers are back) the sockets are told
  // to fetch what they missed from history (docs/api.md, `resync`).
  let connectedBefore = false;
  broker.on('connect', () => {
    if (connectedBefore) {
      io.emit('resync', { reason: 'broker-reconnect', at: new Date().toISOString() });
      metrics.resyncs.inc();
    }
    connectedBefore = true;
  });
  return { app, io, directory, sessions, socketSessions, presence, typing, recentSends };
}
