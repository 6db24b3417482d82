import { accountsVerifier, type Verifier } from '@chat/auth';
import {
  createOperatorServer,
  internalHeaders,
  listenThenConnect,
  type StartOptions as BaseStartOptions,
} from '@chat/http-kit';
import { silentLogger } from '@chat/logger';
import { Broker, applyGatewayTopology } from '@chat/messaging';
import { buildApp, type Gateway } from './app';
import { jwksUrl, readConfig, type Config } from './config';

export interface StartOptions extends BaseStartOptions {
  /** Defaults to a verifier against `JWKS_URL`; tests pass `createTestIssuer().verifier`. */
  verifier?: Verifier;
}

export interface RunningGateway extends Gateway {
  url: string;
  port: number;
  /** The operator listener: /healthz, /readyz, /metrics. */
  opsUrl: string;
  closeOps: () => Promise<void>;
  instanceId: string;
  broker: Broker;
  close: () => Promise<void>;
}

/** Config from defaults plus overrides, without reading the environment (for tests and tools). */
export const gatewayConfig = (overrides: Partial<Config> = {}): Config => ({ ...readConfig({}), ...overrides });

/** Starts one gateway instance in this process: the entry point of main.ts and of system tests. */
export async function startGateway(config: Config, opts: StartOptions = {}): Promise<RunningGateway> {
  const logger = opts.logger ?? silentLogger();
  const broker = new Broker({
    url: config.AMQP_URL,
    logger,
    registry: opts.registry,
    confirmTimeoutMs: config.BROKER_CONFIRM_TIMEOUT_MS,
    onConnect: (ch) => applyGatewayTopology(ch, config.INSTANCE_ID),
  });
  const verifier =
    opts.verifier ??
    accountsVerifier({
      jwksUrl: jwksUrl(config),
      accountsUrl: config.ACCOUNTS_URL,
      timeoutMs: config.ACCOUNTS_TIMEOUT_MS,
      cacheMs: config.API_TOKEN_CACHE_MS,
      headers: internalHeaders,
    });
  const gw = await buildApp({
    config,
    logger,
    broker,
    verifier,
    registry: opts.registry,
    defaultMetrics: opts.defaultMetrics,
  });
  const { url: address, port } = await listenThenConnect(gw.app, broker, config, {
    logger,
    awaitBroker: opts.awaitBroker,
  });
  const ops = await createOperatorServer({
    logger,
    registry: gw.app.registry,
    readiness: { broker: () => broker.isReady },
  });
  const opsUrl = await ops.listen({ port: config.OPS_PORT, host: config.OPS_HOST });
  logger.info({ opsUrl }, 'operator listener');
  return {
    ...gw,
    url: address.replace('[::1]', 'localhost'),
    port,
    opsUrl,
    closeOps: () => ops.close(),
    instanceId: config.INSTANCE_ID,
    broker,
    close: async () => {
      await ops.close();
      await gw.app.close();
      await broker.close();
    },
  };
}
