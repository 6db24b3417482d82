import { exitOnConfigError } from '@chat/config';
import { createLogger, type Logger } from '@chat/logger';
import { exitOnCrash } from './shutdown';

/**
 * The first lines of every service's main.ts: the configuration (a bad one exits 78 with one line
 * naming the variable), the logger, and the crash policy (log and exit non-zero, never swallow).
 */
export function bootService<C extends { LOG_LEVEL: string }>(
  name: string,
  readConfig: () => C,
): { config: C; logger: Logger } {
  let config: C;
  try {
    config = readConfig();
  } catch (err) {
    exitOnConfigError(err);
  }
  const logger = createLogger({ name, level: config.LOG_LEVEL });
  exitOnCrash(logger);
  return { config, logger };
}
