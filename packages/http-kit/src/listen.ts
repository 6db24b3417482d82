import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import type { Logger } from '@chat/logger';
import type { App } from './service';

/** What every service's `start<Name>(config, opts)` in server.ts takes (some add their own). */
export interface StartOptions {
  logger?: Logger;
  registry?: Registry;
  defaultMetrics?: boolean;
  /** Resolve only once the broker is connected (tests); main.ts listens first and connects after. */
  awaitBroker?: boolean;
}

export interface ListenOptions {
  logger: Logger;
  /** Resolve only once the broker is connected (tests); main.ts listens first and connects after. */
  awaitBroker?: boolean;
}

/**
 * The last step of every service's server.ts: listen on the config's PORT and HOST, then connect the
 * broker. When the connection is not awaited, /healthz answers at once and /readyz says 503 until the
 * broker is reachable.
 */
export async function listenThenConnect(
  app: App,
  broker: { connect(): Promise<void> },
  config: { PORT: number; HOST: string },
  opts: ListenOptions,
): Promise<{ url: string; port: number }> {
  const url = await app.listen({ port: config.PORT, host: config.HOST });
  const connecting = broker.connect();
  if (opts.awaitBroker ?? true) await connecting;
  else connecting.catch((err: unknown) => opts.logger.error({ err }, 'broker gave up'));
  return { url, port: (app.server.address() as AddressInfo).port };
}
