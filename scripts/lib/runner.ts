/**
 * What `npm start` (scripts/dev.ts) and `npm run start:cluster` (scripts/cluster.ts) share: their port
 * variables, the checks before anything starts, the services' environment, the web build, and the run
 * itself (Ctrl-C / SIGTERM / SIGHUP stop what started, the last started first, then exit). Each script
 * says only what differs: one broker or a cluster, one instance of each service or several, HAProxy.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { assertPortsFree, portFrom } from './ports';
import { stopLeftovers } from './leftovers';
import { startInfra, type BrokerNodes, type DevInfra } from './infra';
import { buildWebIfStale } from './web';
import { startServices, type ServiceSpec, type Supervised } from './services';
import { ensureSystemPackages, StopError } from './system';
import { colours, fail, info } from './output';

/** The ports of the first instance of everything, each from its override variable. */
export function devPorts() {
  return {
    postgres: portFrom('PGPORT_DEV', 5432),
    amqp: portFrom('AMQP_PORT_DEV', 5672),
    management: portFrom('AMQP_MGMT_PORT_DEV', 15672),
    dist: portFrom('AMQP_DIST_PORT_DEV', 25672),
    gateway: portFrom('GATEWAY_PORT_DEV', 8080),
    accounts: portFrom('ACCOUNTS_PORT_DEV', 8081),
    persistence: portFrom('PERSISTENCE_PORT_DEV', 8082),
    delivery: portFrom('DELIVERY_PORT_DEV', 8083),
  };
}
export type DevPorts = ReturnType<typeof devPorts>;

const PORT_CHECKS: Array<[keyof DevPorts, string, string]> = [
  ['postgres', 'postgres', 'PGPORT_DEV'],
  ['amqp', 'rabbitmq', 'AMQP_PORT_DEV'],
  ['management', 'rabbitmq management', 'AMQP_MGMT_PORT_DEV'],
  ['dist', 'rabbitmq distribution', 'AMQP_DIST_PORT_DEV'],
  ['gateway', 'gateway', 'GATEWAY_PORT_DEV'],
  ['accounts', 'accounts', 'ACCOUNTS_PORT_DEV'],
  ['persistence', 'persistence', 'PERSISTENCE_PORT_DEV'],
  ['delivery', 'delivery', 'DELIVERY_PORT_DEV'],
];

export interface Runner {
  /** A signal arrived: whatever is under way returns without starting more. */
  readonly stopping: boolean;
  /** Something to stop at shutdown; steps run the last registered first. */
  onStop(step: () => Promise<void>): void;
}

/**
 * Runs `main` as the process: a signal (or `main` failing) runs the stop steps and exits, 0 on a
 * signal, 1 on a failure (a `StopError` is said as it is, anything else with its stack). A second
 * signal while stopping only says so.
 */
export function run(main: (runner: Runner) => Promise<void>): void {
  const steps: Array<() => Promise<void>> = [];
  const runner = { stopping: false, onStop: (step: () => Promise<void>) => void steps.push(step) };
  const shutdown = async (code: number): Promise<never> => {
    if (!runner.stopping) {
      runner.stopping = true;
      for (const step of steps.reverse()) await step();
      info('stopped; nothing left running');
    }
    process.exit(code);
  };
  let signals = 0;
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(sig, () => {
      if (++signals > 1) return info('still stopping (waiting for processes to exit)...');
      void shutdown(0);
    });
  }
  main(runner).catch(async (err: unknown) => {
    if (err instanceof StopError) fail(err.message);
    else fail(`start-up failed: ${(err as Error).stack ?? String(err)}`);
    await shutdown(1);
  });
}

/**
 * Before anything starts: the system's packages, what a killed run left behind stopped, every port
 * checked free (`labels` renames what a port is for in the message).
 */
export async function prepareMachine(opts: {
  dataDir: string;
  ports: DevPorts;
  labels?: Partial<Record<keyof DevPorts, string>>;
}): Promise<void> {
  ensureSystemPackages();
  await stopLeftovers(opts.dataDir);
  await assertPortsFree(
    PORT_CHECKS.map(([key, what, variable]) => ({ what: opts.labels?.[key] ?? what, port: opts.ports[key], variable })),
  );
}

/**
 * Postgres and the broker (one node, or the cluster of `broker`) started and migrated, stopped at
 * shutdown; then the web client built. Undefined when a signal came meanwhile.
 */
export async function startServers(
  runner: Runner,
  opts: { root: string; dataDir: string; ports: DevPorts; broker?: BrokerNodes },
): Promise<DevInfra | undefined> {
  const infra = await startInfra(opts.root, opts.dataDir, opts.ports, opts.broker);
  runner.onStop(infra.stop);
  if (runner.stopping) return undefined;
  if (process.env.DEV_SKIP_WEB_BUILD === '1') info('DEV_SKIP_WEB_BUILD=1: web client build skipped');
  else await buildWebIfStale(opts.root);
  return runner.stopping ? undefined : infra;
}

/**
 * The environment every service gets (each one's config schema reads only what it needs), including
 * the service credential of /internal routes: the caller's INTERNAL_TOKEN, or a fresh one per run.
 */
export function serviceEnv(root: string, dataDir: string, ports: DevPorts, infra: DevInfra): Record<string, string> {
  const accountsUrl = `http://127.0.0.1:${ports.accounts}`;
  return {
    NODE_ENV: 'development',
    DATABASE_URL: infra.databaseUrl,
    AMQP_URL: infra.amqpUrl,
    ACCOUNTS_URL: accountsUrl,
    PERSISTENCE_URL: `http://127.0.0.1:${ports.persistence}`,
    JWKS_URL: `${accountsUrl}/.well-known/jwks.json`,
    KEYS_DIR: join(dataDir, 'keys'),
    WEB_DIR: join(root, 'web', 'build'),
    INTERNAL_TOKEN: process.env.INTERNAL_TOKEN ?? randomBytes(24).toString('base64url'),
  };
}

/**
 * Starts the services, supervised, and waits for each /readyz (DEV_READY_TIMEOUT_MS, else
 * `readyTimeoutMs`); they are stopped at shutdown. Returns them and how long they took, in seconds.
 */
export async function startAll(
  runner: Runner,
  opts: { root: string; dataDir: string; specs: ServiceSpec[]; readyTimeoutMs: number },
): Promise<{ services: Supervised[]; seconds: string }> {
  const t0 = Date.now();
  // Filled as each one starts, before they are ready: a Ctrl-C during start-up stops them too.
  const services: Supervised[] = [];
  runner.onStop(async () => {
    if (services.length) info('stopping the services');
    await Promise.allSettled(services.map((s) => s.stop()));
  });
  await startServices(
    opts.root,
    opts.dataDir,
    opts.specs,
    Number(process.env.DEV_READY_TIMEOUT_MS ?? opts.readyTimeoutMs),
    services,
  );
  return { services, seconds: ((Date.now() - t0) / 1000).toFixed(1) };
}

/** The line that says it is up. */
export function announce(ports: DevPorts): void {
  info(colours.bold(colours.green(`chat is running: http://localhost:${ports.gateway}`)));
}
