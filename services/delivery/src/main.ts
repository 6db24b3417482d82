import { bootService, installShutdown } from '@chat/http-kit';
import { readConfig } from './config';
import { startDelivery } from './server';

async function main(): Promise<void> {
  const { config, logger, startOptions } = bootService('delivery', readConfig);
  const worker = await startDelivery(config, startOptions);
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
