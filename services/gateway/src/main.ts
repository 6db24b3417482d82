import { Registry } from 'prom-client';
import { bootService, installShutdown } from '@chat/http-kit';
import { readConfig } from './config';
import { startGateway } from './server';

async function main(): Promise<void> {
  const { config, logger } = bootService('gateway', readConfig);
  // Listens first: /healthz answers and /readyz says 503 until the broker is reachable.
  const gw = await startGateway(config, { logger, registry: new Registry(), defaultMetrics: true, awaitBroker: false });
  logger.info({ url: gw.url, instanceId: gw.instanceId }, 'gateway listening');
  installShutdown(
    logger,
    [
      ['disconnect sockets and close http', () => gw.app.close()],
      ['close the broker connection', () => gw.broker.close()],
      ['close the operator listener', () => gw.closeOps()],
    ],
    config.SHUTDOWN_TIMEOUT_MS,
  );
}

void main();
