import type { Registry } from 'prom-client';
import type { Logger } from '@chat/logger';
import type { Broker } from '@chat/messaging';
import { createService, type App } from '@chat/http-kit';
import type { Config } from './config';

export interface Deps {
  config: Config;
  logger: Logger;
  broker: Broker;
  registry?: Registry;
  defaultMetrics?: boolean;
}

/** The delivery worker's operator API. It never listens; main.ts does. */
export async function buildApp(deps: Deps): Promise<App> {
  const app = await createService({
    name: 'delivery',
    description: 'Fans events out to the gateways holding each recipient',
    logger: deps.logger,
    registry: deps.registry,
    defaultMetrics: deps.defaultMetrics,
    readiness: { broker: () => deps.broker.isConnected },
  });
  return app;
}
