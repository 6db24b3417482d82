/**
 * `npm start`: the whole stack on this machine, no containers. Postgres and RabbitMQ from the system's
 * packages with their data in .data/, migrations, the web client build, then the four services with
 * prefixed output. Ctrl-C (or SIGTERM) stops the services first, then the servers, and exits.
 */
import { randomBytes } from 'node:crypto';
import { join, resolve } from 'node:path';
import { ensureSystemPackages, StopError } from './lib/system';
import { assertPortsFree, portFrom } from './lib/ports';
import { stopLeftovers } from './lib/leftovers';
import { startInfra, type DevInfra } from './lib/infra';
import { buildWebIfStale } from './lib/web';
import { startServices, type Supervised } from './lib/services';
import { colours, fail, info } from './lib/output';

const root = resolve(__dirname, '..');
const dataDir = resolve(process.env.DEV_DATA_DIR ?? join(root, '.data'));

const ports = {
  postgres: portFrom('PGPORT_DEV', 5432),
  amqp: portFrom('AMQP_PORT_DEV', 5672),
  management: portFrom('AMQP_MGMT_PORT_DEV', 15672),
  dist: portFrom('AMQP_DIST_PORT_DEV', 25672),
  gateway: portFrom('GATEWAY_PORT_DEV', 8080),
  accounts: portFrom('ACCOUNTS_PORT_DEV', 8081),
  persistence: portFrom('PERSISTENCE_PORT_DEV', 8082),
  delivery: portFrom('DELIVERY_PORT_DEV', 8083),
};

let infra: DevInfra | undefined;
const services: Supervised[] = [];
let stopping = false;

async function shutdown(code: number): Promise<never> {
  if (!stopping) {
    stopping = true;
    if (services.length) info('stopping the services');
    await Promise.allSettled(services.map((s) => s.stop()));
    await infra?.stop();
    info('stopped; nothing left running');
  }
  process.exit(code);
}

let signals = 0;
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(sig, () => {
    if (++signals > 1) return info('still stopping (waiting for processes to exit)...');
    void shutdown(0);
  });
}

async function main(): Promise<void> {
  ensureSystemPackages();
  await stopLeftovers(dataDir);
  await assertPortsFree([
    { what: 'postgres', port: ports.postgres, variable: 'PGPORT_DEV' },
    { what: 'rabbitmq', port: ports.amqp, variable: 'AMQP_PORT_DEV' },
    { what: 'rabbitmq management', port: ports.management, variable: 'AMQP_MGMT_PORT_DEV' },
    { what: 'rabbitmq distribution', port: ports.dist, variable: 'AMQP_DIST_PORT_DEV' },
    { what: 'gateway', port: ports.gateway, variable: 'GATEWAY_PORT_DEV' },
    { what: 'accounts', port: ports.accounts, variable: 'ACCOUNTS_PORT_DEV' },
    { what: 'persistence', port: ports.persistence, variable: 'PERSISTENCE_PORT_DEV' },
    { what: 'delivery', port: ports.delivery, variable: 'DELIVERY_PORT_DEV' },
  ]);
  infra = await startInfra(root, dataDir, ports);
  if (stopping) return;
  if (process.env.DEV_SKIP_WEB_BUILD === '1') info('DEV_SKIP_WEB_BUILD=1: web client build skipped');
  else await buildWebIfStale(root);
  if (stopping) return;

  const accountsUrl = `http://127.0.0.1:${ports.accounts}`;
  // Every service gets the same environment; each one's config schema reads only what it needs.
  const env = {
    NODE_ENV: 'development',
    DATABASE_URL: infra.databaseUrl,
    AMQP_URL: infra.amqpUrl,
    ACCOUNTS_URL: accountsUrl,
    PERSISTENCE_URL: `http://127.0.0.1:${ports.persistence}`,
    JWKS_URL: `${accountsUrl}/.well-known/jwks.json`,
    KEYS_DIR: join(dataDir, 'keys'),
    WEB_DIR: join(root, 'web', 'build'),
    // The service credential of /internal routes: a fresh one per run, shared by the four services.
    INTERNAL_TOKEN: process.env.INTERNAL_TOKEN ?? randomBytes(24).toString('base64url'),
  };
  const t0 = Date.now();
  await startServices(
    root,
    dataDir,
    (['accounts', 'persistence', 'delivery', 'gateway'] as const).map((name) => ({ name, port: ports[name], env })),
    Number(process.env.DEV_READY_TIMEOUT_MS ?? 90_000),
    services,
  );
  if (stopping) return;
  info(`services started in ${((Date.now() - t0) / 1000).toFixed(1)}s`);
  info(colours.bold(colours.green(`chat is running: http://localhost:${ports.gateway}`)));
  info(`rabbitmq management: http://localhost:${ports.management} (guest/guest); Ctrl-C stops everything`);
}

main().catch(async (err: unknown) => {
  if (err instanceof StopError) fail(err.message);
  else fail(`start-up failed: ${(err as Error).stack ?? String(err)}`);
  await shutdown(1);
});
