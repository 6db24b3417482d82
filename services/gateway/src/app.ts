import type { Registry } from 'prom-client';
import type { Verifier } from '@chat/auth';
import type { Logger } from '@chat/logger';
import type { Broker } from '@chat/messaging';
import { createService, type App } from '@chat/http-kit';
import type { Config } from './config';
import { ConversationDirectory } from './conversations.directory';
import { startDeliveryConsumers } from './deliveries.consumer';
import { proxyRoutes } from './http/proxy.routes';
import { webRoutes } from './http/web.routes';
import { createGatewayMetrics } from './metrics';
import { createRateLimiter } from './rate-limit';
import { RecentSends } from './recent-sends';
import { createHandlers } from './socket/handlers';
import { attachSocketServer, type GatewayServer } from './socket/io';
import { createUlidFactory } from './ulid';
import type { UserBindings } from './user-bindings';

export interface Deps {
  config: Config;
  logger: Logger;
  /** Built with `onConnect` applying this instance's topology (see server.ts). */
  broker: Broker;
  bindings: UserBindings;
  verifier: Verifier;
  registry?: Registry;
  defaultMetrics?: boolean;
}

export interface Gateway {
  app: App;
  io: GatewayServer;
  directory: ConversationDirectory;
  bindings: UserBindings;
}

/**
 * The public edge: operator routes, `/api/v1` proxied to the owning services, the web client, and the
 * Socket.IO server on the same HTTP server. Registers its broker consumers; never listens or connects.
 */
export async function buildApp(deps: Deps): Promise<Gateway> {
  const { config, logger, broker, bindings } = deps;
  const app = await createService({
    name: 'gateway',
    description: 'Public origin: Socket.IO, the web client, and /api/v1 forwarded to the owning services',
    logger,
    registry: deps.registry,
    defaultMetrics: deps.defaultMetrics,
    readiness: { broker: () => broker.isConnected },
  });
  const metrics = createGatewayMetrics(app.registry);
  const directory = new ConversationDirectory({
    accountsUrl: config.ACCOUNTS_URL,
    logger,
    maxEntries: config.CONVERSATION_CACHE_SIZE,
    ttlMs: config.CONVERSATION_CACHE_TTL_MS,
    timeoutMs: config.ACCOUNTS_TIMEOUT_MS,
  });
  const recentSends = new RecentSends(config.RECENT_SENDS);
  const recentReads = new Map<string, string>();
  const handlers = createHandlers({
    broker,
    directory,
    recentSends,
    recentReads,
    sendLimiter: createRateLimiter({ ratePerSec: config.SEND_RATE_PER_SEC, burst: config.SEND_RATE_BURST }),
    ulid: createUlidFactory(),
  });

  await app.register(proxyRoutes, { accountsUrl: config.ACCOUNTS_URL, persistenceUrl: config.PERSISTENCE_URL });
  await app.register(webRoutes, { webDir: config.WEB_DIR });

  const io = attachSocketServer(app.server, { verifier: deps.verifier, bindings, handlers, logger, metrics });
  // Stop taking sockets before the HTTP server closes; their bindings go with them.
  app.addHook('preClose', async () => {
    io.local.disconnectSockets(true);
    io.engine.close();
  });

  await startDeliveryConsumers({
    broker,
    io,
    instanceId: config.INSTANCE_ID,
    directory,
    recentSends,
    recentReads,
    metrics,
    prefetch: config.DELIVERY_PREFETCH,
    batchSize: config.DELIVERY_BATCH,
  });
  return { app, io, directory, bindings };
}
