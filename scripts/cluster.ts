/**
 * `npm run start:cluster`: the whole product on this machine as it runs on several. A 3-node RabbitMQ
 * cluster (quorum queues replicated on all three), Postgres, accounts and persistence, 2 delivery
 * workers, 2 gateways behind HAProxy at the public origin. Every service gets all three broker
 * addresses and reconnects to another node when one goes. Postgres, the RabbitMQ nodes and HAProxy are
 * restarted when they die, services too; Ctrl-C stops all of it. Same port variables as `npm start`.
 */
import { spawnSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import {
  findHaproxy,
  startHaproxy,
  startPostgres,
  startRabbitCluster,
  type LocalHaproxy,
  type LocalPostgres,
  type LocalRabbitCluster,
} from '@chat/local-infra';
import { ensureSystemPackages, StopError } from './lib/system';
import { assertPortsFree, nextFreePorts, portFrom } from './lib/ports';
import { forgetPid, stopLeftovers } from './lib/leftovers';
import { epmdRunning, migrateBroker, prepareDatabase, quiet, reportRaRepair, superviseAs } from './lib/infra';
import { buildWebIfStale } from './lib/web';
import { startServices, type ServiceSpec, type Supervised } from './lib/services';
import { colours, fail, info } from './lib/output';

const root = resolve(__dirname, '..');
const dataDir = resolve(process.env.DEV_DATA_DIR ?? join(root, '.data', 'cluster'));
const count = (variable: string, def: number) => {
  const n = Number(process.env[variable] ?? def);
  if (!Number.isInteger(n) || n < 1 || n > 9)
    throw new StopError(`${variable}=${process.env[variable]} must be a whole number from 1 to 9`);
  return n;
};

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
const RABBIT_NODES = count('CLUSTER_RABBIT_NODES', 3);
const GATEWAYS = count('CLUSTER_GATEWAYS', 2);
const DELIVERIES = count('CLUSTER_DELIVERY_WORKERS', 2);

let pg: LocalPostgres | undefined;
let rabbit: LocalRabbitCluster | undefined;
let haproxy: LocalHaproxy | undefined;
const services: Supervised[] = [];
let stopping = false;
const epmdWasRunning = epmdRunning();

async function shutdown(code: number): Promise<never> {
  if (!stopping) {
    stopping = true;
    if (services.length) info('stopping the services');
    await haproxy?.stop();
    forgetPid(dataDir, 'haproxy');
    await Promise.allSettled(services.map((s) => s.stop()));
    info('stopping the rabbitmq nodes and postgres');
    await Promise.allSettled([rabbit?.stop(), pg?.stop()]);
    await stopLeftovers(dataDir, 'servers started outside the runner in its data folder');
    // Erlang's port mapper, when the first node started it (it refuses to stop while a node uses it).
    if (!epmdWasRunning) spawnSync('epmd', ['-kill'], { stdio: 'ignore' });
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
  if (!findHaproxy())
    throw new StopError(
      'haproxy is not installed (the load balancer in front of the gateways). Run:\n  sudo apt-get install -y haproxy',
    );
  await stopLeftovers(dataDir);
  await assertPortsFree([
    { what: 'postgres', port: ports.postgres, variable: 'PGPORT_DEV' },
    { what: 'rabbitmq node 1', port: ports.amqp, variable: 'AMQP_PORT_DEV' },
    { what: 'rabbitmq management', port: ports.management, variable: 'AMQP_MGMT_PORT_DEV' },
    { what: 'rabbitmq distribution', port: ports.dist, variable: 'AMQP_DIST_PORT_DEV' },
    { what: 'load balancer (public origin)', port: ports.gateway, variable: 'GATEWAY_PORT_DEV' },
    { what: 'accounts', port: ports.accounts, variable: 'ACCOUNTS_PORT_DEV' },
    { what: 'persistence', port: ports.persistence, variable: 'PERSISTENCE_PORT_DEV' },
    { what: 'delivery', port: ports.delivery, variable: 'DELIVERY_PORT_DEV' },
  ]);
  // The other nodes and instances take the next free ports after the first one's.
  const taken = new Set(Object.values(ports));
  const amqpPorts = [ports.amqp, ...(await nextFreePorts(ports.amqp, RABBIT_NODES - 1, taken))];
  const mgmtPorts = [ports.management, ...(await nextFreePorts(ports.management, RABBIT_NODES - 1, taken))];
  const distPorts = [ports.dist, ...(await nextFreePorts(ports.dist, RABBIT_NODES - 1, taken))];
  const gatewayPorts = await nextFreePorts(ports.delivery, GATEWAYS, taken);
  const deliveryPorts = [ports.delivery, ...(await nextFreePorts(ports.delivery, DELIVERIES - 1, taken))];

  info(
    `starting postgres on 127.0.0.1:${ports.postgres} and a ${RABBIT_NODES}-node rabbitmq cluster on 127.0.0.1:${amqpPorts.join(', ')} (data in ${dataDir})`,
  );
  const [pgResult, rabbitResult] = await Promise.allSettled([
    startPostgres({
      dataDir: join(dataDir, 'postgres'),
      port: ports.postgres,
      onOutput: (l) => quiet('postgres', l, /\b(WARNING|ERROR|FATAL|PANIC):/),
      supervise: superviseAs('postgres'),
    }),
    startRabbitCluster({
      baseDir: dataDir,
      namePrefix: `chat-cluster-${ports.amqp}`,
      nodes: amqpPorts.map((port, i) => ({ port, managementPort: mgmtPorts[i]!, distPort: distPorts[i]! })),
      onOutput: (n, l) => quiet(`rabbitmq-${n}`, l, /\[(error|critical|alert|emergency)\]/),
      supervise: (n) => superviseAs(`rabbitmq-${n}`),
      onRepair: (n, members) => reportRaRepair(`rabbitmq-${n}`)(members),
    }),
  ]);
  if (pgResult.status === 'fulfilled') pg = pgResult.value;
  if (rabbitResult.status === 'fulfilled') rabbit = rabbitResult.value;
  if (pgResult.status === 'rejected') throw pgResult.reason;
  if (rabbitResult.status === 'rejected') throw rabbitResult.reason;
  info(`rabbitmq cluster formed: ${rabbit!.nodeNames.join(', ')}`);
  const databaseUrl = await prepareDatabase(root, pg!);
  const amqpUrl = rabbit!.url();
  await migrateBroker(amqpUrl);
  if (stopping) return;
  if (process.env.DEV_SKIP_WEB_BUILD === '1') info('DEV_SKIP_WEB_BUILD=1: web client build skipped');
  else await buildWebIfStale(root);
  if (stopping) return;

  const accountsUrl = `http://127.0.0.1:${ports.accounts}`;
  const env = {
    NODE_ENV: 'development',
    DATABASE_URL: databaseUrl,
    AMQP_URL: amqpUrl,
    ACCOUNTS_URL: accountsUrl,
    PERSISTENCE_URL: `http://127.0.0.1:${ports.persistence}`,
    JWKS_URL: `${accountsUrl}/.well-known/jwks.json`,
    KEYS_DIR: join(dataDir, 'keys'),
    WEB_DIR: join(root, 'web', 'build'),
  };
  const specs: ServiceSpec[] = [
    { name: 'accounts', port: ports.accounts, env },
    { name: 'persistence', port: ports.persistence, env },
    ...deliveryPorts.map((port, i) => ({ name: `delivery-${i + 1}`, service: 'delivery', port, env })),
    ...gatewayPorts.map((port, i) => ({ name: `gateway-${i + 1}`, service: 'gateway', port, env })),
  ];
  const t0 = Date.now();
  await startServices(root, dataDir, specs, Number(process.env.DEV_READY_TIMEOUT_MS ?? 120_000), services);
  if (stopping) return;
  haproxy = await startHaproxy({
    dir: join(dataDir, 'haproxy'),
    port: ports.gateway,
    backends: gatewayPorts.map((port, i) => ({ name: `gateway-${i + 1}`, port })),
    onOutput: (l) => quiet('haproxy', l, /\b(ALERT|WARNING)\b|is DOWN|is UP/),
    supervise: superviseAs('haproxy'),
    // Rewritten at every restart: a later run stops the HAProxy that runs, not the first one's pid.
    pidFile: join(dataDir, 'run', 'haproxy.pid'),
  });
  info(
    `services started in ${((Date.now() - t0) / 1000).toFixed(1)}s; load balancer (haproxy) -> ${gatewayPorts.map((p) => `127.0.0.1:${p}`).join(', ')}`,
  );
  info(colours.bold(colours.green(`chat is running: http://localhost:${ports.gateway}`)));
  info(
    `rabbitmq management (the whole cluster): http://localhost:${ports.management} (guest/guest); AMQP_URL=${amqpUrl}`,
  );
  info('Ctrl-C stops everything');
}

main().catch(async (err: unknown) => {
  if (err instanceof StopError) fail(err.message);
  else fail(`start-up failed: ${(err as Error).stack ?? String(err)}`);
  await shutdown(1);
});
