import type { Logger } from '@chat/logger';

/**
 * Graceful shutdown on SIGTERM/SIGINT: run the steps in order (stop taking work, finish in-flight,
 * close connections) and exit 0, or exit 1 if they overrun `timeoutMs`.
 */
export function installShutdown(
  logger: Logger,
  steps: Array<[string, () => Promise<unknown>]>,
  timeoutMs: number,
): void {
  let started = false;
  const shutdown = async (signal: string) => {
    if (started) return;
    started = true;
    logger.info({ signal }, 'shutting down');
    const timer = setTimeout(() => {
      logger.error({ timeoutMs }, 'shutdown overran; exiting');
      process.exit(1);
    }, timeoutMs);
    timer.unref();
    for (const [name, step] of steps) {
      try {
        await step();
      } catch (err) {
        logger.warn({ err, step: name }, 'shutdown step failed');
      }
    }
    logger.info('stopped');
    clearTimeout(timer);
    process.exit(0);
  };
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
  process.once('SIGINT', () => void shutdown('SIGINT'));
}

/** Crashes are not swallowed: log them and exit non-zero so a supervisor restarts the process. */
export function exitOnCrash(logger: Logger): void {
  const die = (err: unknown, kind: string) => {
    logger.fatal({ err }, kind);
    process.exit(1);
  };
  process.on('uncaughtException', (err) => die(err, 'uncaught exception'));
  process.on('unhandledRejection', (err) => die(err, 'unhandled rejection'));
}
