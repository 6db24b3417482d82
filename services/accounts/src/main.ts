import { Registry } from 'prom-client';
import { bootService, installShutdown } from '@chat/http-kit';
import { readConfig } from './config';
import { startAccounts } from './server';

async function main(): Promise<void> {
  const { config, logger } = bootService('accounts', readConfig);
  // Listens first: /healthz answers and /readyz says 503 until the broker is reachable.
  const service = await startAccounts(config, {
    logger,
    registry: new Registry(),
    defaultMetrics: true,
    awaitBroker: false,
  });
  logger.info({ url: service.url }, 'accounts listening');
  installShutdown(
    logger,
    [
      ['stop http and the outbox relay', () => service.app.close()],
      ['close broker', () => service.broker.close()],
      ['close database', () => service.database.close()],
    ],
    config.SHUTDOWN_TIMEOUT_MS,
  );
}

void main();
