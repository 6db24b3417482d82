import type { Registry } from 'prom-client';
import type { Logger } from '@chat/logger';
import type { Broker } from '@chat/messaging';
import { createService, type App } from '@chat/http-kit';
import type { Config } from './config';
import { startEventConsumers } from './events.consumer';
import { MembersDirectory } from './members.directory';

export interface Deps {
  config: Config;
  logger: Logger;
  /** Built with `onConnect` applying this worker's topology (see server.ts). */
  broker: Broker;
  registry?: Registry;
  defaultMetrics?: boolean;
}

/** The delivery worker: its operator API, and its consumers registered on the broker. It never listens. */
export async function buildApp(deps: Deps): Promise<App> {
  const { config, logger, broker } = deps;
  const app = await createService({
    name: 'delivery',
    internalToken: config.INTERNAL_TOKEN,
    description: 'Fans events out to the gateways holding each recipient',
    logger,
    registry: deps.registry,
    defaultMetrics: deps.defaultMetrics,
    readiness: { broker: () => broker.isConnected },
  });
  const directory = new MembersDirectory({
    accountsUrl: config.ACCOUNTS_URL,
    logger,
    maxEntries: config.MEMBERS_CACHE_SIZE,
    ttlMs: config.MEMBERS_CACHE_TTL_MS,
    timeoutMs: config.ACCOUNTS_TIMEOUT_MS,
  });
  await startEventConsumers({
    broker,
    directory,
    instanceId: config.INSTANCE_ID,
    prefetch: config.DELIVERY_PREFETCH,
    batchSize: config.DELIVERY_BATCH,
    registry: app.registry,
  });
  return app;
}
