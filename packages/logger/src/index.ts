import pino, { type Logger, type LoggerOptions } from 'pino';

export type { Logger };

export interface LoggerConfig {
  name: string;
  level?: string;
  /** Pretty output only when a person is reading a terminal. */
  pretty?: boolean;
}

export function createLogger(cfg: LoggerConfig): Logger {
  const opts: LoggerOptions = {
    name: cfg.name,
    level: cfg.level ?? 'info',
    base: { service: cfg.name },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: {
      paths: [
        'req.headers.authorization',
        'req.headers.cookie',
        '*.password',
        '*.refreshToken',
        '*.accessToken',
        'token',
      ],
      censor: '[redacted]',
    },
    serializers: { err: pino.stdSerializers.err },
  };
  const pretty = cfg.pretty ?? process.stdout.isTTY === true;
  if (pretty) {
    return pino({
      ...opts,
      transport: {
        target: 'pino-pretty',
        options: { colorize: true, translateTime: 'HH:MM:ss.l', ignore: 'pid,hostname,service' },
      },
    });
  }
  return pino(opts);
}

/** A logger that writes nothing, for tests that do not assert on logs. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
