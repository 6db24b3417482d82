/**
 * `npm run start:cluster`: the whole product on this machine as it runs on several. A 3-node RabbitMQ
 * cluster (quorum queues replicated on all three), Postgres, accounts and persistence, 2 delivery
 * workers, 2 gateways behind HAProxy at the public origin. Every service gets all three broker
 * addresses and reconnects to another node when one goes. Postgres, the RabbitMQ nodes and HAProxy are
 * restarted when they die, services too; Ctrl-C stops all of it. Same port variables as `npm start`;
 * the sequence is shared with it (scripts/lib/runner.ts), this says what the cluster adds.
 */
import { join, resolve } from 'node:path';
import { findHaproxy, startHaproxy } from '@chat/local-infra';
import { StopError } from './lib/system';
import { nextFreePorts } from './lib/ports';
import { forgetPid } from './lib/leftovers';
import { quiet, superviseAs } from './lib/infra';
import { announce, devPorts, prepareMachine, run, serviceEnv, startAll, startServers } from './lib/runner';
import { info } from './lib/output';

const root = resolve(__dirname, '..');
const dataDir = resolve(process.env.DEV_DATA_DIR ?? join(root, '.data', 'cluster'));
const count = (variable: string, def: number) => {
  const n = Number(process.env[variable] ?? def);
  if (!Number.isInteger(n) || n < 1 || n > 9)
    throw new StopError(`${variable}=${process.env[variable]} must be a whole number from 1 to 9`);
  return n;
};

const ports = devPorts();
const RABBIT_NODES = count('CLUSTER_RABBIT_NODES', 3);
const GATEWAYS = count('CLUSTER_GATEWAYS', 2);
const DELIVERIES = count('CLUSTER_DELIVERY_WORKERS', 2);

run(async (runner) => {
  await prepareMachine({
    dataDir,
    ports,
    labels: { amqp: 'rabbitmq node 1', gateway: 'load balancer (public origin)' },
  });
  if (!findHaproxy())
    throw new StopError(
      'haproxy is not installed (the load balancer in front of the gateways). Run:\n  sudo apt-get install -y haproxy',
    );
  // The other nodes and instances take the next free ports after the first one's.
  const taken = new Set(Object.values(ports));
  const more = (first: number, n: number) => nextFreePorts(first, n, taken);
  const amqpPorts = [ports.amqp, ...(await more(ports.amqp, RABBIT_NODES - 1))];
  const mgmtPorts = [ports.management, ...(await more(ports.management, RABBIT_NODES - 1))];
  const distPorts = [ports.dist, ...(await more(ports.dist, RABBIT_NODES - 1))];
  const gatewayPorts = await more(ports.delivery, GATEWAYS);
  const deliveryPorts = [ports.delivery, ...(await more(ports.delivery, DELIVERIES - 1))];

  const infra = await startServers(runner, {
    root,
    dataDir,
    ports,
    broker: amqpPorts.map((port, i) => ({ port, managementPort: mgmtPorts[i]!, distPort: distPorts[i]! })),
  });
  if (!infra) return;
  const env = serviceEnv(root, dataDir, ports, infra);
  const { seconds } = await startAll(runner, {
    root,
    dataDir,
    specs: [
      { name: 'accounts', port: ports.accounts, env },
      { name: 'persistence', port: ports.persistence, env },
      ...deliveryPorts.map((port, i) => ({ name: `delivery-${i + 1}`, service: 'delivery', port, env })),
      ...gatewayPorts.map((port, i) => ({ name: `gateway-${i + 1}`, service: 'gateway', port, env })),
    ],
    readyTimeoutMs: 120_000,
  });
  if (runner.stopping) return;
  const haproxy = await startHaproxy({
    dir: join(dataDir, 'haproxy'),
    port: ports.gateway,
    backends: gatewayPorts.map((port, i) => ({ name: `gateway-${i + 1}`, port })),
    onOutput: (l) => quiet('haproxy', l, /\b(ALERT|WARNING)\b|is DOWN|is UP/),
    supervise: superviseAs('haproxy'),
    // Rewritten at every restart: a later run stops the HAProxy that runs, not the first one's pid.
    pidFile: join(dataDir, 'run', 'haproxy.pid'),
  });
  runner.onStop(async () => {
    await haproxy.stop();
    forgetPid(dataDir, 'haproxy');
  });
  info(
    `services started in ${seconds}s; load balancer (haproxy) -> ${gatewayPorts.map((p) => `127.0.0.1:${p}`).join(', ')}`,
  );
  announce(ports);
  info(
    `rabbitmq management (the whole cluster): http://localhost:${ports.management} (guest/guest); AMQP_URL=${infra.amqpUrl}`,
  );
  info('Ctrl-C stops everything');
});
