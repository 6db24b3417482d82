/**
 * `npm start`: the whole stack on this machine, no containers. Postgres and RabbitMQ from the system's
 * packages with their data in .data/, migrations, the web client build, then the four services with
 * prefixed output. Ctrl-C (or SIGTERM) stops the services first, then the servers, and exits.
 * The sequence is shared with `npm run start:cluster` (scripts/lib/runner.ts); this says what is its own.
 */
import { join, resolve } from 'node:path';
import { announce, devPorts, prepareMachine, run, serviceEnv, startAll, startServers } from './lib/runner';
import { info } from './lib/output';

const root = resolve(__dirname, '..');
const dataDir = resolve(process.env.DEV_DATA_DIR ?? join(root, '.data'));
const ports = devPorts();

run(async (runner) => {
  await prepareMachine({ dataDir, ports });
  const infra = await startServers(runner, { root, dataDir, ports });
  if (!infra) return;
  const env = serviceEnv(root, dataDir, ports, infra);
  const { seconds } = await startAll(runner, {
    root,
    dataDir,
    specs: (['accounts', 'persistence', 'delivery', 'gateway'] as const).map((name) => ({
      name,
      port: ports[name],
      env,
    })),
    readyTimeoutMs: 90_000,
  });
  if (runner.stopping) return;
  info(`services started in ${seconds}s`);
  announce(ports);
  info(`rabbitmq management: http://localhost:${ports.management} (guest/guest); Ctrl-C stops everything`);
});
