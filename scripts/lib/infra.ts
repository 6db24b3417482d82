import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { stripVTControlCharacters } from 'node:util';
import {
  ensureDatabase,
  startPostgres,
  startRabbit,
  startRabbitCluster,
  type ClusterNodePorts,
  type LocalPostgres,
  type LocalRabbit,
  type LocalRabbitCluster,
} from '@chat/local-infra';
import { runMigrations } from '@chat/db';
import { migrateToQuorum } from '@chat/messaging';
import { colours, fail, info, say } from './output';
import { stopLeftovers } from './leftovers';

export interface InfraPorts {
  postgres: number;
  amqp: number;
  management: number;
  dist: number;
}

export interface DevInfra {
  databaseUrl: string;
  amqpUrl: string;
  managementUrl: string;
  stop: () => Promise<void>;
}

export const DATABASE = 'chat';

/** The services that own a schema, with their migrations folder (the same list the tests migrate). */
const OWNED_SCHEMAS = ['accounts', 'persistence'];

/** The nodes of a RabbitMQ cluster (the first on the ports of `InfraPorts`); without it, one broker. */
export type BrokerNodes = ClusterNodePorts[];

interface Broker {
  url: () => string;
  stop: () => Promise<void>;
}

/**
 * Starts Postgres and RabbitMQ (one node, or a cluster of `nodes`) with their data under `dataDir`, so
 * it survives restarts, supervised (restarted when they die); creates and migrates the database and
 * brings the broker's queues up to date. `stop` stops both and whatever they left behind.
 */
export async function startInfra(
  root: string,
  dataDir: string,
  ports: InfraPorts,
  nodes?: BrokerNodes,
): Promise<DevInfra> {
  mkdirSync(dataDir, { recursive: true });
  const epmdWasRunning = epmdRunning();
  const brokers = nodes
    ? `a ${nodes.length}-node rabbitmq cluster on 127.0.0.1:${nodes.map((n) => n.port).join(', ')}`
    : `rabbitmq on 127.0.0.1:${ports.amqp}`;
  let pg: LocalPostgres | undefined;
  let rabbit: Broker | undefined;
  try {
    info(`starting postgres on 127.0.0.1:${ports.postgres} and ${brokers} (data in ${dataDir})`);
    const [pgResult, rabbitResult] = await Promise.allSettled([
      startPostgres({
        dataDir: join(dataDir, 'postgres'),
        port: ports.postgres,
        onOutput: (l) => quiet('postgres', l, /\b(WARNING|ERROR|FATAL|PANIC):/),
        supervise: superviseAs('postgres'),
      }),
      nodes ? startCluster(dataDir, ports, nodes) : startOne(dataDir, ports),
    ]);
    if (pgResult.status === 'fulfilled') pg = pgResult.value;
    if (rabbitResult.status === 'fulfilled') rabbit = rabbitResult.value;
    if (pgResult.status === 'rejected') throw pgResult.reason;
    if (rabbitResult.status === 'rejected') throw rabbitResult.reason;
  } catch (err) {
    await Promise.allSettled([pg?.stop(), rabbit?.stop()]);
    throw err;
  }
  const p = pg as LocalPostgres;
  const r = rabbit as Broker;
  const stop = async () => {
    info(`stopping ${nodes ? 'the rabbitmq nodes' : 'rabbitmq'} and postgres`);
    await Promise.allSettled([r.stop(), p.stop()]);
    // A server someone restarted by hand in our data folder is ours to stop too (its pid file says so).
    await stopLeftovers(dataDir, 'servers started outside the runner in its data folder');
    // RabbitMQ starts Erlang's port mapper daemon when none runs; it outlives the broker. Ours goes
    // too (epmd refuses to stop while another Erlang node is registered with it, which is what we want).
    if (!epmdWasRunning) spawnSync('epmd', ['-kill'], { stdio: 'ignore' });
  };
  try {
    const databaseUrl = await prepareDatabase(root, p);
    await migrateBroker(r.url());
    return { databaseUrl, amqpUrl: r.url(), managementUrl: `http://127.0.0.1:${ports.management}`, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

function startOne(dataDir: string, ports: InfraPorts): Promise<LocalRabbit> {
  return startRabbit({
    baseDir: join(dataDir, 'rabbitmq'),
    port: ports.amqp,
    managementPort: ports.management,
    distPort: ports.dist,
    nodeName: `chat-dev-${ports.amqp}@localhost`,
    onOutput: (l) => quiet('rabbitmq', l, /\[(error|critical|alert|emergency)\]/),
    supervise: superviseAs('rabbitmq'),
    onRepair: reportRaRepair('rabbitmq'),
  });
}

/** Each node's data in `<dataDir>/rabbitmq-<n>`, named `chat-cluster-<first port>-<n>@localhost`. */
async function startCluster(dataDir: string, ports: InfraPorts, nodes: BrokerNodes): Promise<LocalRabbitCluster> {
  const cluster = await startRabbitCluster({
    baseDir: dataDir,
    namePrefix: `chat-cluster-${ports.amqp}`,
    nodes,
    onOutput: (n, l) => quiet(`rabbitmq-${n}`, l, /\[(error|critical|alert|emergency)\]/),
    supervise: (n) => superviseAs(`rabbitmq-${n}`),
    onRepair: (n, members) => reportRaRepair(`rabbitmq-${n}`)(members),
  });
  info(`rabbitmq cluster formed: ${cluster.nodeNames.join(', ')}`);
  return cluster;
}

/** Creates the database when missing and applies every owned schema's migrations; returns its URL. */
export async function prepareDatabase(root: string, p: LocalPostgres): Promise<string> {
  await ensureDatabase(p.url('postgres'), DATABASE);
  const databaseUrl = p.url(DATABASE);
  for (const schema of OWNED_SCHEMAS) {
    const folder = join(root, 'services', schema, 'drizzle');
    if (!existsSync(join(folder, 'meta', '_journal.json'))) {
      info(`no migrations for ${schema} yet (${folder}): skipped`);
      continue;
    }
    await runMigrations(databaseUrl, folder, schema);
    info(`migrations applied: ${schema}`);
  }
  return databaseUrl;
}

/** A broker kept in `.data/` by an earlier version has classic queues: make them quorum, messages kept. */
export async function migrateBroker(amqpUrl: string): Promise<void> {
  const report = await migrateToQuorum(amqpUrl);
  for (const m of report.migrated)
    info(`rabbitmq: ${m.queue} migrated from a classic to a quorum queue (${m.moved} message(s) kept)`);
}

/** Restart messages for a supervised server (restarts use a backoff: 0.2 s doubling to 30 s). */
export function superviseAs(name: string) {
  return {
    onDied: (how: string, inMs: number) =>
      fail(colours.bold(`${name} DIED (${how}); restarting in ${(inMs / 1000).toFixed(1)}s`)),
    onRestarted: (downMs: number) =>
      info(`${name} is back, accepting again ${(downMs / 1000).toFixed(1)}s after it died`),
    onRestartFailed: (err: Error, inMs: number) =>
      fail(`${name} did not come back (${err.message.split('\n')[0]}); trying again in ${(inMs / 1000).toFixed(1)}s`),
  };
}

/**
 * Quorum-queue members a crash left out of RabbitMQ's name registry, registered again before the start
 * (without it those queues would come back without a leader; see repairRaNames in @chat/local-infra).
 */
export function reportRaRepair(name: string) {
  return (members: string[]) =>
    info(`${name}: ${members.length} quorum queue member(s) lost from Ra's names.dets by a crash registered again`);
}

/** The servers' routine chatter hides the services' output; only their problems are shown. */
export function quiet(name: string, line: string, worth: RegExp): void {
  const plain = stripVTControlCharacters(line);
  // The readiness probe connecting while postgres starts is expected, not a problem; nor is a client's
  // channel error (a declaration probing whether a queue exists), which the client handles and logs.
  if (
    worth.test(plain) &&
    !/database system is starting up|Channel error on connection|caused a channel exception/.test(plain)
  )
    say(name, plain);
}

export function epmdRunning(): boolean {
  return spawnSync('epmd', ['-names'], { stdio: 'ignore' }).status === 0;
}
