import { listenThenConnect, type App, type StartOptions } from '@chat/http-kit';
import { silentLogger } from '@chat/logger';
import { Broker, applyWorkerTopology } from '@chat/messaging';
import { buildApp } from './app';
import type { SessionRegistry } from './domain/sessions';
import { readConfig, type Config } from './config';

export interface RunningDelivery {
  app: App;
  broker: Broker;
  /** Which gateways hold which users, as this worker knows it. */
  sessions: SessionRegistry;
  url: string;
  port: number;
  /** Stops consuming (in-flight batches finish and ack), then closes. */
  close: () => Promise<void>;
}

/** Config from defaults plus overrides, without reading the environment (for tests and tools). */
export const deliveryConfig = (overrides: Partial<Config> = {}): Config => ({ ...readConfig({}), ...overrides });

/** Starts one delivery worker in this process: the entry point of main.ts and of system tests. */
export async function startDelivery(config: Config, opts: StartOptions = {}): Promise<RunningDelivery> {
  const logger = opts.logger ?? silentLogger();
  const broker = new Broker({
    url: config.AMQP_URL,
    logger,
    registry: opts.registry,
    onConnect: (ch) => applyWorkerTopology(ch, config.INSTANCE_ID),
  });
  const { app, sessions } = await buildApp({
    config,
    logger,
    broker,
    registry: opts.registry,
    defaultMetrics: opts.defaultMetrics,
  });
  const { url, port } = await listenThenConnect(app, broker, config, { logger, awaitBroker: opts.awaitBroker });
  return {
    app,
    broker,
    sessions,
    url,
    port,
    close: async () => {
      await broker.close();
      await app.close();
    },
  };
}
