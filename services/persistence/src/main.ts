import { bootService, installShutdown } from '@chat/http-kit';
import { readConfig } from './config';
import { startPersistence } from './server';

async function main(): Promise<void> {
  const { config, logger, startOptions } = bootService('persistence', readConfig);
  const service = await startPersistence(config, startOptions);
  logger.info({ url: service.url }, 'persistence listening');
  installShutdown(
    logger,
    [
      // Cancels the consumer, lets the in-flight batch commit and be acked, then closes the connection.
      ['stop consuming and finish the in-flight batch', () => service.broker.close()],
      ['close http', () => service.app.close()],
      ['close database', () => service.database.close()],
    ],
    config.SHUTDOWN_TIMEOUT_MS,
  );
}

void main();
