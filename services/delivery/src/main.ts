import { Registry } from 'prom-client';
import { exitOnConfigError } from '@chat/config';
import { createLogger } from '@chat/logger';
import { exitOnCrash, installShutdown } from '@chat/http-kit';
import { readConfig, type Config } from './config';
import { startDelivery } from './server';

async function main(): Promise<void> {
  let config: Config;
  try {
    config = readConfig();
  } catch (err) {
    exitOnConfigError(err);
  }
  const logger = createLogger({ name: 'delivery', level: config.LOG_LEVEL });
  exitOnCrash(logger);
  // Listens first: /healthz answers and /readyz says 503 until the broker is reachable.
  const worker = await startDelivery(config, { logger, registry: new Registry(), defaultMetrics: true, awaitBroker: false });
  logger.info({ url: worker.url, instanceId: config.INSTANCE_ID }, 'delivery worker running');
  installShutdown(
    logger,
    [
      ['stop consuming and finish in-flight work', () => worker.broker.close()],
      ['close http', () => worker.app.close()],
    ],
    config.SHUTDOWN_TIMEOUT_MS,
  );
}

void main();
