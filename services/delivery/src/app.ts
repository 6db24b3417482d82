import type { Registry } from 'prom-client';
import type { Logger } from '@chat/logger';
import type { Broker } from '@chat/messaging';
import { createService, type App } from '@chat/http-kit';
import type { Config } from './config';
import { startEventConsumers } from './consumers/events.consumer';
import { startWorkerEvents } from './consumers/worker-events.consumer';
import { SessionRegistry } from './domain/sessions';
import { MembershipClient } from '@chat/membership';

export interface Deps {
  config: Config;
  logger: Logger;
  /** Built with `onConnect` applying this worker's topology (see server.ts). */
  broker: Broker;
  registry?: Registry;
  defaultMetrics?: boolean;
}

/** The delivery worker: its operator API, and its consumers registered on the broker. It never listens. */
export async function buildApp(deps: Deps): Promise<{ app: App; sessions: SessionRegistry }> {
  const { config, logger, broker } = deps;
  const app = await createService({
    name: 'delivery',
    internalToken: config.INTERNAL_TOKEN,
    description: 'Fans events out to the gateways holding each recipient',
    logger,
    registry: deps.registry,
    defaultMetrics: deps.defaultMetrics,
    readiness: { broker: () => broker.isReady },
  });
  const directory = new MembershipClient({
    accountsUrl: config.ACCOUNTS_URL,
    logger,
    max: config.MEMBERS_CACHE_SIZE,
    ttlMs: config.MEMBERS_CACHE_TTL_MS,
    timeoutMs: config.ACCOUNTS_TIMEOUT_MS,
  });
  const sessions = new SessionRegistry();
  const workerEvents = await startWorkerEvents({
    broker,
    workerId: config.INSTANCE_ID,
    sessions,
    directory,
    logger,
    warmupMs: config.SESSIONS_WARMUP_MS,
  });
  app.addHook('onClose', async () => workerEvents.stop());
  await startEventConsumers({
    broker,
    directory,
    sessions,
    sessionsReady: workerEvents.ready,
    prefetch: config.DELIVERY_PREFETCH,
    batchSize: config.DELIVERY_BATCH,
    registry: app.registry,
  });
  return { app, sessions };
}
