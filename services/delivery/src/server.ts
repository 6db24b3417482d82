import type { Registry } from 'prom-client';
import type { App } from '@chat/http-kit';
import { silentLogger, type Logger } from '@chat/logger';
import { Broker, applyWorkerTopology } from '@chat/messaging';
import { buildApp } from './app';
import type { SessionRegistry } from './domain/sessions';
import { readConfig, type Config } from './config';

export interface StartOptions {
  logger?: Logger;
  registry?: Registry;
  defaultMetrics?: boolean;
  /** Resolve only once the broker is connected (tests); main.ts listens first and connects after. */
  awaitBroker?: boolean;
}

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
  const broker = new Broker({ url: config.AMQP_URL, logger, registry: opts.registry, onConnect: (ch) => applyWorkerTopology(ch, config.INSTANCE_ID) });
  const { app, sessions } = await buildApp({ config, logger, broker, registry: opts.registry, defaultMetrics: opts.defaultMetrics });
  const url = await app.listen({ port: config.PORT, host: config.HOST });
  const connecting = broker.connect();
  if (opts.awaitBroker ?? true) await connecting;
  else connecting.catch((err) => logger.error({ err }, 'broker gave up'));
  return {
    app,
    broker,
    sessions,
    url,
    port: (app.server.address() as { port: number }).port,
    close: async () => {
      await broker.close();
      await app.close();
    },
  };
}
