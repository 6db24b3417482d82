import { bootService, installShutdown } from '@chat/http-kit';
import { readConfig } from './config';
import { startGateway } from './server';

async function main(): Promise<void> {
  const { config, logger, startOptions } = bootService('gateway', readConfig);
  const gw = await startGateway(config, startOptions);
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
