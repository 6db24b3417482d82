import { bootService, installShutdown } from '@chat/http-kit';
import { readConfig } from './config';
import { startAccounts } from './server';

async function main(): Promise<void> {
  const { config, logger, startOptions } = bootService('accounts', readConfig);
  const service = await startAccounts(config, startOptions);
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
