import { Registry } from 'prom-client';
import { exitOnConfigError } from '@chat/config';
import { createLogger, type Logger } from '@chat/logger';
import { exitOnCrash } from './shutdown';
import type { StartOptions } from './listen';

/**
 * The first lines of every service's main.ts: the configuration (a bad one exits 78 with one line
 * naming the variable), the logger, and the crash policy (log and exit non-zero, never swallow).
 * `startOptions` is what main.ts passes to its `start<Name>`: the process's own metrics registry with
 * the default metrics, and listening before the broker is reachable (/healthz answers at once, /readyz
 * says 503 until it is).
 */
export function bootService<C extends { LOG_LEVEL: string }>(
  name: string,
  readConfig: () => C,
): { config: C; logger: Logger; startOptions: StartOptions & { logger: Logger } } {
  let config: C;
  try {
    config = readConfig();
  } catch (err) {
    exitOnConfigError(err);
  }
  const logger = createLogger({ name, level: config.LOG_LEVEL });
  exitOnCrash(logger);
  return {
    config,
    logger,
    startOptions: { logger, registry: new Registry(), defaultMetrics: true, awaitBroker: false },
  };
}
