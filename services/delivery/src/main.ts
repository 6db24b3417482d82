import { Registry } from 'prom-client';
import { exitOnConfigError } from '@chat/config';
import { createLogger } from '@chat/logger';
import { Broker } from '@chat/messaging';
import { exitOnCrash, installShutdown } from '@chat/http-kit';
import { readConfig, type Config } from './config';
import { buildApp } from './app';

async function main(): Promise<void> {
  let config: Config;
  try {
    config = readConfig();
  } catch (err) {
    exitOnConfigError(err);
  }
  const logger = createLogger({ name: 'delivery', level: config.LOG_LEVEL });
  exitOnCrash(logger);
  const registry = new Registry();
  const broker = new Broker({ url: config.AMQP_URL, logger, registry });
  const app = await buildApp({ config, logger, broker, registry, defaultMetrics: true });
  await app.listen({ port: config.PORT, host: config.HOST });
  // Connect after listening: /healthz answers and /readyz says 503 until the broker is reachable.
  void broker.connect().catch((err) => logger.error({ err }, 'broker gave up'));
  installShutdown(logger, [
    ['stop consuming and finish in-flight work', () => broker.close()],
    ['close http', () => app.close()],
  ], config.SHUTDOWN_TIMEOUT_MS);
}

void main();
