import { Registry } from 'prom-client';
import { exitOnConfigError } from '@chat/config';
import { createLogger } from '@chat/logger';
import { exitOnCrash, installShutdown } from '@chat/http-kit';
import { readConfig, type Config } from './config';
import { startGateway } from './server';

async function main(): Promise<void> {
  let config: Config;
  try {
    config = readConfig();
  } catch (err) {
    exitOnConfigError(err);
  }
  const logger = createLogger({ name: 'gateway', level: config.LOG_LEVEL });
  exitOnCrash(logger);
  // Listens first: /healthz answers and /readyz says 503 until the broker is reachable.
  const gw = await startGateway(config, { logger, registry: new Registry(), defaultMetrics: true, awaitBroker: false });
  logger.info({ url: gw.url, instanceId: gw.instanceId }, 'gateway listening');
  installShutdown(
    logger,
    [
      ['disconnect sockets and close http', () => gw.app.close()],
      ['close the broker connection', () => gw.broker.close()],
    ],
    config.SHUTDOWN_TIMEOUT_MS,
  );
}

void main();
